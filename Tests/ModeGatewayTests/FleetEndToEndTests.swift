import AsyncHTTPClient
import Foundation
import GatewayRedis
import ModeGateway
import ModeSimulator
import NIOCore
import Testing

/// Three replicas, one simulator and one real `redis-server`, over loopback: they must behave,
/// to a client and to Mode, like one gateway.
@Suite("Scale-out through Redis", .serialized)
struct FleetEndToEndTests {
    /// The dataset's name as a read through `harness` shows it.
    static func name(_ harness: GatewayHarness, _ path: String = "/datasets/ds0001") async throws -> String? {
        let reply = try await harness.get(path)
        try #require(reply.status == 200, "\(reply.status) \(reply.body)")
        return reply.object["name"] as? String
    }

    static func rename(_ harness: GatewayHarness, to name: String, _ path: String = "/datasets/ds0001") async throws {
        let reply = try await harness.send(.PATCH, path, body: #"{"name":"\#(name)"}"#)
        try #require(reply.status == 200, "\(reply.status) \(reply.body)")
    }

    @Test("150 concurrent cold reads of distinct keys over three replicas keep to one fleet budget: Mode never answers 429")
    func oneBudget() async throws {
        let redis = try await RedisServer.start()
        defer { redis.stop() }
        let rate = 20.0
        let burst = 4
        try await GatewayHarness.with(
            replicas: 3,
            redis: redis,
            configure: {
                $0.upstream.ratePerSecond = rate
                $0.upstream.burst = burst
                $0.upstream.maxQueueWait = .seconds(20)
                $0.upstreamTimeout = .seconds(25)
            },
            // Mode's leaky bucket, a little above the fleet's rate: three budgets would overflow it.
            simulatorRateLimit: LeakyBucket.Limit(capacity: 8, leakPerSecond: 25)
        ) { harness in
            let paths = (1...100).map { String(format: "/datasets/ds%04d", $0) } + (1...50).map { String(format: "/datasets/ds%04d/schedules", $0) }
            let started = ContinuousClock.now
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for (index, path) in paths.enumerated() {
                    group.addTask { try await harness.replica(index % 3).get(path).status }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            let elapsed = ContinuousClock.now - started
            #expect(statuses.allSatisfy { $0 == 200 }, "\(Dictionary(grouping: statuses, by: { $0 }).mapValues(\.count))")
            #expect(harness.control.rateLimitedCount == 0)
            // Every call for data; the readiness checks of Mode (`/verify`) do not take from the budget.
            let calls = harness.control.requests.filter { $0.path.contains("/datasets") }.count
            #expect(calls >= 150)
            // Arrivals stay within the fleet's rate: a burst, then one per interval.
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            #expect(Double(calls) <= Double(burst) + rate * seconds + 2, "\(calls) calls in \(seconds) s")
        }
    }

    @Test("60 concurrent reads of one cold key over three replicas make exactly one call to Mode")
    func oneCallPerColdKey() async throws {
        let redis = try await RedisServer.start()
        defer { redis.stop() }
        try await GatewayHarness.with(replicas: 3, redis: redis) { harness in
            // A slow answer, so that every read arrives while the first is still loading.
            harness.control.setFault(FaultPlan(.delay(milliseconds: 400), count: 1))
            let replies = try await withThrowingTaskGroup(of: GatewayHarness.Reply.self) { group in
                for index in 0..<60 {
                    group.addTask { try await harness.replica(index % 3).get("/datasets/ds0042") }
                }
                return try await group.reduce(into: [GatewayHarness.Reply]()) { $0.append($1) }
            }
            #expect(replies.allSatisfy { $0.status == 200 })
            #expect(Set(replies.map(\.body)).count == 1)
            #expect(harness.control.requests.filter { $0.path.hasSuffix("/datasets/ds0042") }.count == 1)
        }
    }

    @Test("Read your writes: 500 rounds of read through B, PATCH through A, read through B or C")
    func readYourWrites() async throws {
        let redis = try await RedisServer.start()
        defer { redis.stop() }
        try await GatewayHarness.with(replicas: 3, redis: redis) { harness in
            for round in 0..<500 {
                _ = try await Self.name(harness.replica(1))
                try await Self.rename(harness.replica(0), to: "round \(round)")
                let name = try await Self.name(harness.replica(1 + round % 2))
                try #require(name == "round \(round)", "round \(round) read \(name ?? "nil")")
            }
        }
    }

    @Test("Read your writes holds with pub/sub cut: correctness never rests on its messages")
    func readYourWritesWithoutPubSub() async throws {
        let redis = try await RedisServer.start()
        defer { redis.stop() }
        try await GatewayHarness.with(replicas: 3, redis: redis) { harness in
            for round in 0..<300 {
                if round % 25 == 0 { try await redis.command(["CLIENT", "KILL", "TYPE", "pubsub"]) }
                _ = try await Self.name(harness.replica(1))
                _ = try await Self.name(harness.replica(2))
                try await Self.rename(harness.replica(0), to: "cut \(round)")
                let name = try await Self.name(harness.replica(1 + round % 2))
                try #require(name == "cut \(round)", "round \(round) read \(name ?? "nil")")
            }
        }
    }

    @Test("A slow read with a PATCH landing in the middle of it: no later read returns the old value")
    func staleFill() async throws {
        let redis = try await RedisServer.start()
        defer { redis.stop() }
        try await GatewayHarness.with(replicas: 3, redis: redis) { harness in
            harness.control.setFault(FaultPlan(.delay(milliseconds: 800), count: 1))
            let slow = Task { try await Self.name(harness.replica(0)) }
            while harness.control.requestCount == 0 { try await Task.sleep(for: .milliseconds(5)) }
            try await Self.rename(harness.replica(1), to: "after the write")
            _ = try await slow.value
            for index in 0..<3 {
                for _ in 0..<3 {
                    #expect(try await Self.name(harness.replica(index)) == "after the write")
                }
            }
        }
    }

    @Test("A replica killed while it holds a fill lock: the others take over within the lock's life")
    func ownerCrash() async throws {
        let redis = try await RedisServer.start()
        defer { redis.stop() }
        let prefix = "crash-\(UUID().uuidString.prefix(6))"
        try await GatewayHarness.with(
            replicas: 2,
            redis: redis,
            configure: {
                $0.fleet?.keyPrefix = prefix
                $0.upstreamTimeout = .seconds(15)
            }
        ) { harness in
            let (owner, _, ownerPort) = try await ProcessTests.launchGateway(
                before: harness.simulator,
                with: ["REDIS_URL": "redis://127.0.0.1:\(redis.port)", "REDIS_KEY_PREFIX": prefix, "MODE_TIMEOUT_SECONDS": "20"]
            )
            defer { if owner.isRunning { kill(owner.processIdentifier, SIGKILL) } }
            // Ready once it has reached Redis: only then does it take fill locks.
            var ready = false
            for _ in 0..<200 where !ready {
                let response = try await harness.client.execute(HTTPClientRequest(url: "http://127.0.0.1:\(ownerPort)/readyz"), timeout: .seconds(5))
                ready = response.status == .ok
                if !ready { try await Task.sleep(for: .milliseconds(25)) }
            }
            try #require(ready)
            // Its first readiness check of Mode (`/verify`) is done before the count starts.
            try await Task.sleep(for: .milliseconds(300))
            harness.control.resetRecords()
            // The owner's call hangs in Mode; it holds the fill lock meanwhile.
            harness.control.setFault(FaultPlan(.delay(milliseconds: 5_000), count: 1))
            let doomed = Task {
                try? await harness.client.execute(HTTPClientRequest(url: "http://127.0.0.1:\(ownerPort)/datasets/ds0077"), timeout: .seconds(20))
            }
            // Counted on arrival (the record is made when the answer is).
            while harness.control.requestCount == 0 { try await Task.sleep(for: .milliseconds(5)) }
            let waiters = (0..<10).map { index in
                Task { try await harness.replica(index % 2).get("/datasets/ds0077") }
            }
            try await Task.sleep(for: .milliseconds(300))
            let killed = ContinuousClock.now
            kill(owner.processIdentifier, SIGKILL)
            for waiter in waiters {
                let reply = try await waiter.value
                #expect(reply.status == 200, "\(reply.body)")
            }
            #expect(ContinuousClock.now - killed < .seconds(6))
            // The dead owner's call, then one takeover for both replicas.
            #expect(harness.control.requests.filter { $0.path.hasSuffix("/datasets/ds0077") }.count == 2)
            doomed.cancel()
        }
    }

    /// Reads and a write on every replica while Redis misbehaves: each answers 200 within
    /// `bound`, and afterwards every replica reads the write.
    static func keepsServing(
        _ harness: GatewayHarness,
        bound: Duration,
        during fault: @escaping @Sendable () async throws -> Void
    ) async throws {
        for index in 0..<3 { _ = try await Self.name(harness.replica(index)) }
        let faulting = Task { try await fault() }
        try await Task.sleep(for: .milliseconds(100))
        for round in 0..<3 {
            for index in 0..<3 {
                let started = ContinuousClock.now
                #expect(try await harness.replica(index).get("/datasets/ds0001").status == 200)
                #expect(ContinuousClock.now - started < bound, "replica \(index), round \(round)")
            }
        }
        let started = ContinuousClock.now
        try await Self.rename(harness.replica(0), to: "written while Redis was failing")
        #expect(ContinuousClock.now - started < bound)
        for index in 0..<3 {
            #expect(try await Self.name(harness.replica(index)) == "written while Redis was failing")
        }
        try await faulting.value
        // The fleet heals by itself: Redis back in use, the write's epochs replayed.
        var healed = false
        for _ in 0..<200 where !healed {
            let ready = try await harness.replica(0).get("/readyz").object
            let redis = ready["redis"] as? [String: Any]
            healed = redis?["connected"] as? Bool == true && redis?["queued_invalidations"] as? Int == 0
            if !healed { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(healed)
        for index in 0..<3 {
            #expect(try await Self.name(harness.replica(index)) == "written while Redis was failing")
        }
        try await Self.rename(harness.replica(2), to: "after Redis healed")
        for index in 0..<3 {
            #expect(try await Self.name(harness.replica(index)) == "after Redis healed")
        }
    }

    @Test("DEBUG SLEEP: answers stay within their deadline and the fleet heals")
    func debugSleep() async throws {
        let redis = try await RedisServer.start()
        defer { redis.stop() }
        try await GatewayHarness.with(replicas: 3, redis: redis) { harness in
            try await Self.keepsServing(harness, bound: .seconds(2)) {
                try await redis.command(["DEBUG", "SLEEP", "2"], timeout: .seconds(10))
            }
        }
    }

    @Test("SIGSTOP then SIGCONT: answers stay within their deadline and the fleet heals")
    func frozenRedis() async throws {
        let redis = try await RedisServer.start()
        defer { redis.stop() }
        try await GatewayHarness.with(replicas: 3, redis: redis) { harness in
            try await Self.keepsServing(harness, bound: .seconds(2)) {
                redis.freeze()
                try await Task.sleep(for: .seconds(2))
                redis.thaw()
            }
        }
    }

    @Test("A restart (empty, scripts flushed): writes before it are never served after it, and the fleet heals")
    func restartedRedis() async throws {
        let redis = try await RedisServer.start()
        defer { redis.stop() }
        try await GatewayHarness.with(replicas: 3, redis: redis) { harness in
            // Replica 2 keeps the first name in memory; the write moves the epochs to 1.
            try await Self.rename(harness.replica(0), to: "first")
            #expect(try await Self.name(harness.replica(2)) == "first")
            try await redis.command(["SCRIPT", "FLUSH"])
            #expect(try await Self.name(harness.replica(1)) == "first")
            try await Self.keepsServing(harness, bound: .seconds(2)) {
                try await redis.restart()
            }
            #expect(try await Self.name(harness.replica(2)) == "after Redis healed")
        }
    }

    @Test("With Redis down, each replica keeps to its share of the fleet's rate: Mode never answers 429")
    func fallbackBudget() async throws {
        let redis = try await RedisServer.start()
        defer { redis.stop() }
        try await GatewayHarness.with(
            replicas: 3,
            redis: redis,
            configure: {
                $0.upstream.ratePerSecond = 12
                $0.upstream.burst = 3
                $0.upstream.maxQueueWait = .seconds(20)
                $0.upstreamTimeout = .seconds(25)
            },
            simulatorRateLimit: LeakyBucket.Limit(capacity: 6, leakPerSecond: 14)
        ) { harness in
            redis.stop()
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 1...45 {
                    group.addTask { try await harness.replica(index % 3).get(String(format: "/datasets/ds%04d", index)).status }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.allSatisfy { $0 == 200 })
            #expect(harness.control.rateLimitedCount == 0)
            let ready = try await harness.get("/readyz")
            #expect(ready.status == 200)
            #expect((ready.object["redis"] as? [String: Any])?["connected"] as? Bool == false)
            let metrics = try await harness.get("/metrics").body
            #expect(metrics.contains("redis_up 0"))
            #expect(metrics.contains("mode_shared_budget_fallbacks_total"))
        }
    }

    @Test("DELETE /cache on one replica empties the cache for all of them")
    func fleetPurge() async throws {
        let redis = try await RedisServer.start()
        defer { redis.stop() }
        try await GatewayHarness.with(replicas: 3, redis: redis) { harness in
            for index in 0..<3 { _ = try await harness.replica(index).get("/datasets/ds0005") }
            #expect(try await harness.replica(2).get("/datasets/ds0005").headers.first(name: "X-Cache") == "HIT")
            #expect(try await harness.replica(0).send(.DELETE, "/cache?path=/datasets/ds0005").status == 200)
            #expect(try await harness.replica(2).get("/datasets/ds0005").headers.first(name: "X-Cache") == "MISS")
            _ = try await harness.replica(1).get("/datasets/ds0006")
            #expect(try await harness.replica(1).send(.DELETE, "/cache").status == 200)
            #expect(try await harness.replica(2).get("/datasets/ds0006").headers.first(name: "X-Cache") == "MISS")
            let metrics = try await harness.replica(1).get("/metrics").body
            #expect(metrics.contains("gateway_cache_l2_hits_total"))
            #expect(metrics.contains("redis_up 1"))
        }
    }
}
