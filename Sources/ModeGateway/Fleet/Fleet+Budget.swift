import GatewayRedis

/// Mode's one budget, shared by every replica: a GCRA reservation taken atomically in Redis, on
/// Redis's clock, so replicas' clocks do not matter.
extension Fleet: SharedBudget {
    /// Takes the next slot if it comes within `maxWait`; returns how long to wait for it, or how
    /// long until one would be free. Times are microseconds on Redis's clock.
    static let reserveScript = RedisScript(
        """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
        local interval = tonumber(ARGV[1])
        local burst = tonumber(ARGV[2])
        local maxwait = tonumber(ARGV[3])
        local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
        local nxt = math.max(tat, now) + interval
        local wait = nxt - now - burst
        if wait > maxwait then return {0, wait} end
        redis.call('SET', KEYS[1], string.format('%.0f', nxt))
        if wait < 0 then wait = 0 end
        return {1, wait}
        """
    )

    /// Moves the schedule so that no slot comes before now plus ARGV[1] (Mode said to slow down).
    static let pauseScript = RedisScript(
        """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
        local target = now + tonumber(ARGV[1]) + tonumber(ARGV[2]) - tonumber(ARGV[3])
        local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
        if target > tat then redis.call('SET', KEYS[1], string.format('%.0f', target)) end
        return 1
        """
    )

    func reserve(interval: Duration, burstWindow: Duration, maxWait: Duration) async -> TokenBucket.Reservation? {
        let reply: RESP3Value
        do {
            reply = try await self.client.evaluate(
                Self.reserveScript,
                keys: [self.key("budget", "mode")],
                arguments: [
                    .string(String(Self.microseconds(interval))), .string(String(Self.microseconds(burstWindow))),
                    .string(String(Self.microseconds(maxWait))),
                ]
            )
        } catch {
            self.state.withLock { $0.statistics.budgetFallbacks += 1 }
            return nil
        }
        guard let values = reply.elements, values.count == 2, let granted = values[0].integer, let wait = values[1].integer else {
            self.state.withLock { $0.statistics.budgetFallbacks += 1 }
            return nil
        }
        if granted == 1 {
            if wait > 0 { self.state.withLock { $0.statistics.budgetWaits += 1 } }
            return .granted(wait: .microseconds(wait))
        }
        return .rejected(retryAfter: .microseconds(wait))
    }

    func pause(for delay: Duration, interval: Duration, burstWindow: Duration) async {
        _ = try? await self.client.evaluate(
            Self.pauseScript,
            keys: [self.key("budget", "mode")],
            arguments: [
                .string(String(Self.microseconds(delay))), .string(String(Self.microseconds(burstWindow))),
                .string(String(Self.microseconds(interval))),
            ]
        )
    }

    static func microseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000
    }
}

/// Mode's budget when replicas share it; nil answers mean it could not be reached, and the
/// caller uses its own local share instead.
protocol SharedBudget: Sendable {
    func reserve(interval: Duration, burstWindow: Duration, maxWait: Duration) async -> TokenBucket.Reservation?
    func pause(for delay: Duration, interval: Duration, burstWindow: Duration) async
}
