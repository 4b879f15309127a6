import GatewayRedis
import NIOCore

/// The shared cache tier: entries under versioned keys, epochs per tag, and fill locks.
///
/// A key's stamp holds the epochs of the whole cache (`*`), of its upstream path (`p:…`) and of
/// each of its tags (`t:…`). A write moves its tags' epochs after Mode's success and before the
/// client hears back, so any read that starts afterwards, on any replica, reads a new stamp and
/// cannot match an entry stored before the write: not in Redis, not in any replica's memory.
/// A fill that was under way during the write lands under the old stamp, where no one looks.
extension Fleet: CacheTier {
    /// Moves every epoch in KEYS and tells the other replicas (ARGV: channel, message).
    static let bumpScript = RedisScript(
        """
        for _, key in ipairs(KEYS) do redis.call('INCR', key) end
        redis.call('PUBLISH', ARGV[1], ARGV[2])
        return #KEYS
        """
    )

    /// An entry and how much longer it lives (its age is the horizon less that).
    static let readScript = RedisScript(
        """
        local value = redis.call('GET', KEYS[1])
        if not value then return nil end
        return {value, redis.call('PTTL', KEYS[1])}
        """
    )

    /// The end of a fill: store (or drop) the entry, release the lock if it is still this
    /// replica's, and tell the waiters. ARGV: action, lock token, body, lifetime, channel, key.
    static let finishScript = RedisScript(
        """
        if ARGV[1] == 'store' then redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
        elseif ARGV[1] == 'drop' then redis.call('DEL', KEYS[1]) end
        if ARGV[2] ~= '' and redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('DEL', KEYS[2]) end
        redis.call('PUBLISH', ARGV[5], ARGV[6])
        return 1
        """
    )

    /// Extends a fill lock while its owner still holds it.
    static let renewScript = RedisScript(
        """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
        return 0
        """
    )

    func stamp(path: String, tags: [String]) async -> String? {
        if self.state.withLock({ !$0.unsentBumps.isEmpty }) {
            // This replica made writes that other replicas have not been told of: until they are
            // told, it cannot vouch for any epoch it reads.
            guard self.client.isConnected else { return nil }
            await self.replayBumps()
            if self.state.withLock({ !$0.unsentBumps.isEmpty }) { return nil }
        }
        let names = ["*", "p:" + path] + tags.map { "t:" + $0 }
        let reply: RESP3Value
        do {
            reply = try await self.client.evaluate(
                Self.stampScript,
                keys: [self.key("generation", "")] + names.map { self.key("e", $0) },
                arguments: [
                    .string(self.replicaID)
                ]
            )
        } catch {
            return nil
        }
        guard let values = reply.elements, values.count == names.count + 1, let generation = values[0].string else { return nil }
        var stamp = generation
        for value in values.dropFirst() {
            stamp += "."
            if case .null = value {
                stamp += "0"
            } else if let number = value.integer {
                stamp += String(number)
            } else {
                return nil
            }
        }
        return stamp
    }

    /// The generation of Redis's data, then the epochs in KEYS[2...]. The generation is made on
    /// first use: when Redis restarts empty, its epochs start again from zero, and without a new
    /// generation a stamp from before the restart could match one after it, with writes between.
    static let stampScript = RedisScript(
        """
        if redis.call('EXISTS', KEYS[1]) == 0 then
          local t = redis.call('TIME')
          redis.call('SET', KEYS[1], ARGV[1] .. '-' .. t[1] .. t[2])
        end
        return redis.call('MGET', unpack(KEYS))
        """
    )

    func fill(
        _ versionedKey: String,
        policy: CachePolicy,
        revalidate: Bool,
        load: @escaping ResponseCache.Loader
    ) async throws(GatewayError) -> ResponseCache.Loaded {
        var stale: ResponseCache.Loaded?
        if !revalidate, let found = await self.read(versionedKey, policy: policy) {
            if found.age < policy.ttl {
                self.state.withLock { $0.statistics.l2Hits += 1 }
                return ResponseCache.Loaded(response: found.response, age: found.age, status: .hit)
            }
            if policy.freshness(age: found.age) != .unusable { stale = found }
        }
        self.state.withLock { $0.statistics.l2Misses += 1 }
        let lockKey = self.key("l", versionedKey)
        let deadline = ContinuousClock.now + self.settings.fillWait
        var waited = false
        while true {
            let token =
                self.replicaID + ":"
                + String(
                    self.state.withLock { state in
                        state.nextLock += 1
                        return state.nextLock
                    }
                )
            let acquired: Bool?
            do {
                let reply = try await self.client.send([
                    "SET", .string(lockKey), .string(token), "NX", "PX", .string(String(Self.milliseconds(self.settings.lockTTL))),
                ])
                acquired = reply != .null
            } catch {
                acquired = nil
            }
            switch acquired {
            case .none:
                // Redis cannot coordinate this fill: load here, and still try to share the result.
                return try await self.loadAndFinish(versionedKey, token: nil, policy: policy, stale: stale, load: load)
            case .some(true):
                if waited { self.state.withLock { $0.statistics.fillTakeovers += 1 } }
                return try await self.loadAndFinish(versionedKey, token: token, policy: policy, stale: stale, load: load)
            case .some(false):
                if !waited {
                    waited = true
                    self.state.withLock { $0.statistics.fillsWaited += 1 }
                }
                let remaining = deadline - ContinuousClock.now
                guard remaining > .zero else {
                    if let stale { return ResponseCache.Loaded(response: stale.response, age: stale.age, status: .stale) }
                    throw .gatewayTimeout(detail: "Another replica is still reading this from Mode.")
                }
                // The message may be lost: poll as well, at a jittered pace.
                await self.waitForFill(versionedKey, upTo: min(remaining, .milliseconds(Int64.random(in: 40...120))))
                if let found = await self.read(versionedKey, policy: policy), found.age < policy.ttl {
                    return ResponseCache.Loaded(response: found.response, age: found.age, status: .miss)
                }
            }
        }
    }

    /// Loads under the lock (kept alive while the load runs), then stores the answer for every
    /// replica and wakes the waiters, whatever the outcome.
    private func loadAndFinish(
        _ versionedKey: String,
        token: String?,
        policy: CachePolicy,
        stale: ResponseCache.Loaded?,
        load: @escaping ResponseCache.Loader
    ) async throws(GatewayError) -> ResponseCache.Loaded {
        let lockKey = self.key("l", versionedKey)
        let renewal = token.map { token in
            Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: self.settings.lockTTL / 3)
                    if Task.isCancelled { return }
                    _ = try? await self.client.evaluate(
                        Self.renewScript,
                        keys: [lockKey],
                        arguments: [.string(token), .string(String(Self.milliseconds(self.settings.lockTTL)))]
                    )
                }
            }
        }
        let outcome: Result<CachedResponse, GatewayError>
        do throws(GatewayError) {
            outcome = .success(try await load())
        } catch {
            outcome = .failure(error)
        }
        renewal?.cancel()
        var action = "none"
        var body = ByteBuffer()
        switch outcome {
        case .success(let response) where response.isStorable && response.body.readableBytes <= self.settings.maxEntryBytes:
            action = "store"
            body = response.body
        case .failure(let error) where error.meansGone:
            action = "drop"
        default:
            break
        }
        _ = try? await self.client.evaluate(
            Self.finishScript,
            keys: [self.key("c", versionedKey), lockKey],
            arguments: [
                .string(action), .string(token ?? ""), .bytes(body), .string(String(Self.milliseconds(policy.horizon))),
                .string(self.filledChannel), .string(versionedKey),
            ]
        )
        switch outcome {
        case .success(let response):
            return ResponseCache.Loaded(response: response)
        case .failure(let error):
            if let stale, error.allowsStaleAnswer {
                return ResponseCache.Loaded(response: stale.response, age: stale.age, status: .stale)
            }
            throw error
        }
    }

    /// The shared copy of an entry and its age, if Redis has it and can say.
    private func read(_ versionedKey: String, policy: CachePolicy) async -> ResponseCache.Loaded? {
        guard let reply = try? await self.client.evaluate(Self.readScript, keys: [self.key("c", versionedKey)], arguments: []),
            let values = reply.elements, values.count == 2, case .bulkString(let body) = values[0], let ttl = values[1].integer
        else { return nil }
        let age = max(.zero, policy.horizon - .milliseconds(ttl))
        return ResponseCache.Loaded(response: CachedResponse(body: body), age: age, status: .hit)
    }

    func invalidate(tags: [String]) async {
        await self.bump(tags.map { "t:" + $0 })
    }

    func purge(path: String?) async {
        await self.bump([path.map { "p:" + $0 } ?? "*"])
    }

    /// Moves epochs. A write's answer waits for this, so it is tried again for up to a second
    /// (a connection being remade after a timeout takes about a tenth of that); when Redis still
    /// does not take them, they are queued for replay, and until then this replica reads as if
    /// Redis were down.
    func bump(_ names: [String]) async {
        guard !names.isEmpty else { return }
        let giveUp = ContinuousClock.now + .seconds(1)
        var lastError: (any Error)?
        repeat {
            do {
                try await self.sendBump(names)
                return
            } catch {
                lastError = error
            }
            // A cancelled task's sleep returns at once: queue rather than spin.
            if Task.isCancelled { break }
            try? await Task.sleep(for: .milliseconds(50))
        } while ContinuousClock.now < giveUp
        self.state.withLock { state in
            state.bumpSequence += 1
            for name in names { state.unsentBumps[name] = state.bumpSequence }
            state.statistics.bumpsQueued += names.count
        }
        self.logger.warning(
            "Redis did not take an invalidation; it is queued until Redis answers",
            metadata: ["error": "\(lastError.map { "\($0)" } ?? "none")"]
        )
    }

    private func sendBump(_ names: [String]) async throws {
        _ = try await self.client.evaluate(
            Self.bumpScript,
            keys: names.map { self.key("e", $0) },
            arguments: [.string(self.droppedChannel), .string(names.joined(separator: "\n"))]
        )
    }

    /// Sends the queued epoch moves; those Redis takes leave the queue, unless a bump of the same
    /// name failed again while the replay ran (it then stays, for the next replay).
    func replayBumps() async {
        let queued = self.state.withLock { $0.unsentBumps }
        guard !queued.isEmpty else { return }
        let names = Array(queued.keys)
        do {
            try await self.sendBump(names)
        } catch {
            return
        }
        self.state.withLock { state in
            for (name, sequence) in queued where state.unsentBumps[name] == sequence {
                state.unsentBumps[name] = nil
            }
            state.statistics.bumpsReplayed += names.count
        }
        self.logger.notice("Replayed invalidations that Redis missed", metadata: ["count": "\(names.count)"])
    }

    /// Waits until another replica says it filled the key, or `limit` passes.
    private func waitForFill(_ versionedKey: String, upTo limit: Duration) async {
        let id = self.state.withLock { state in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            self.state.withLock { $0.fillWaiters[versionedKey, default: [:]][id] = continuation }
            Task {
                try? await Task.sleep(for: limit)
                self.wake(versionedKey, id: id)
            }
        }
    }

    private func wake(_ versionedKey: String, id: UInt64) {
        let continuation = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
            let found = state.fillWaiters[versionedKey]?.removeValue(forKey: id)
            if state.fillWaiters[versionedKey]?.isEmpty == true { state.fillWaiters[versionedKey] = nil }
            return found
        }
        continuation?.resume()
    }

    func wakeFillWaiters(_ versionedKey: String) {
        let waiting = self.state.withLock { $0.fillWaiters.removeValue(forKey: versionedKey) }
        for continuation in waiting?.values ?? [:].values { continuation.resume() }
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        max(1, duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
    }
}
