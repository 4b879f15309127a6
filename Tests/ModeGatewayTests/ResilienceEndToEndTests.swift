import Foundation
import ModeGateway
import ModeSimulator
import NIOHTTP1
import Testing

@Suite("Upstream resilience against an injected-fault simulator")
struct ResilienceEndToEndTests {
    @Test("A hang gives a 504 within the total deadline, retries and all")
    func hang() async throws {
        try await GatewayHarness.with(configure: { $0.upstreamTimeout = .milliseconds(400) }) { (harness: GatewayHarness) async throws in
            harness.control.setFault(FaultPlan(.delay(milliseconds: 5000)))
            let started = ContinuousClock.now
            let reply = try await harness.get("/spaces/sp-finance/datasets")
            #expect(reply.status == 504)
            #expect(reply.headers["Content-Type"].first == "application/problem+json")
            #expect(ContinuousClock.now - started < .seconds(3))
        }
    }

    @Test("429 with Retry-After, then success, is retried into a 200")
    func retriedRateLimit() async throws {
        try await GatewayHarness.with { (harness: GatewayHarness) async throws in
            harness.control.setFault(FaultPlan(.status(429, retryAfterSeconds: 1), count: 1))
            let reply = try await harness.get("/datasets/ds0001")
            #expect(reply.status == 200)
            #expect(harness.control.requestCount == 2)
        }
    }

    @Test(
        "Reads are retried on 502, 503, 504 and dropped connections",
        arguments: [
            SimulatorFault.status(502, retryAfterSeconds: nil), .status(503, retryAfterSeconds: nil), .status(504, retryAfterSeconds: nil), .drop,
        ]
    )
    func retriedReads(fault: SimulatorFault) async throws {
        try await GatewayHarness.with { (harness: GatewayHarness) async throws in
            harness.control.setFault(FaultPlan(fault, count: 2))
            #expect(try await harness.get("/datasets/ds0001").status == 200)
            #expect(harness.control.requestCount == 3)
        }
    }

    @Test("A PATCH that reached Mode is not retried")
    func patchNotRetried() async throws {
        try await GatewayHarness.with { (harness: GatewayHarness) async throws in
            harness.control.setFault(FaultPlan(.status(503, retryAfterSeconds: nil), count: 1))
            #expect(try await harness.send(.PATCH, "/datasets/ds0001", body: #"{"name":"x"}"#).status == 502)
            #expect(harness.control.requestCount == 1)
            harness.control.setFault(FaultPlan(.drop, count: 1))
            #expect(try await harness.send(.PATCH, "/datasets/ds0001", body: #"{"name":"x"}"#).status == 502)
            #expect(harness.control.requestCount == 2)
        }
    }

    @Test("Mode still answering 429 after the retries gets 503 with Retry-After")
    func persistentRateLimit() async throws {
        try await GatewayHarness.with { (harness: GatewayHarness) async throws in
            harness.control.setFault(FaultPlan(.status(429, retryAfterSeconds: 30)))
            let reply = try await harness.get("/datasets/ds0001")
            #expect(reply.status == 503)
            #expect(reply.headers["Retry-After"].first == "30")
        }
    }

    @Test("In a 503 storm the breaker opens, fails fast, then recovers through one probe")
    func breakerStorm() async throws {
        let clock = ManualTimeSource()
        try await GatewayHarness.with(
            time: clock.source,
            configure: {
                $0.upstream.breakerThreshold = 3
                $0.upstream.breakerCooldown = .seconds(30)
                $0.upstream.retry.maxAttempts = 1
                $0.cache.ttl = .zero
            }
        ) { (harness: GatewayHarness) async throws in
            harness.control.setFault(FaultPlan(.status(503, retryAfterSeconds: nil)))
            for _ in 0..<3 { #expect(try await harness.get("/datasets/ds0001").status == 502) }
            #expect(harness.control.requestCount == 3)
            let fast = try await harness.get("/datasets/ds0001")
            #expect(fast.status == 503)
            #expect(fast.headers["Retry-After"].first == "30")
            #expect(harness.control.requestCount == 3, "open: nothing reaches Mode")
            harness.control.setFault(nil)
            clock.advance(by: .seconds(31))
            #expect(try await harness.get("/datasets/ds0001").status == 200)
            #expect(try await harness.get("/datasets/ds0002").status == 200)
            #expect(harness.control.requestCount == 5)
        }
    }

    @Test("An open breaker still lets cached data through as STALE")
    func breakerServesStale() async throws {
        let clock = ManualTimeSource()
        try await GatewayHarness.with(
            time: clock.source,
            configure: {
                $0.upstream.breakerThreshold = 1
                $0.upstream.retry.maxAttempts = 1
            }
        ) { (harness: GatewayHarness) async throws in
            #expect(try await harness.get("/datasets/ds0001").status == 200)
            harness.control.setFault(FaultPlan(.status(500, retryAfterSeconds: nil)))
            #expect(try await harness.get("/datasets/ds0002").status == 502)
            clock.advance(by: .seconds(120))
            let stale = try await harness.get("/datasets/ds0001")
            #expect(stale.status == 200 && stale.headers["X-Cache"].first == "STALE")
        }
    }

    @Test("100 distinct cold reads in a burst never make Mode's leaky bucket answer 429")
    func burstStaysUnderModesLimit() async throws {
        try await GatewayHarness.with(
            configure: {
                // Mode's shape at ten times the speed, so the test is quick: a bucket of 10 leaking 40/s
                // upstream, and the gateway's own bucket under it.
                $0.upstream.ratePerSecond = 30
                $0.upstream.burst = 5
                $0.upstream.maxQueueWait = .seconds(10)
                $0.upstreamTimeout = .seconds(10)
            },
            simulatorRateLimit: LeakyBucket.Limit(capacity: 10, leakPerSecond: 40)
        ) { (harness: GatewayHarness) async throws in
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 1...100 {
                    let token = index == 1 ? "ds0001" : "ds" + String(format: "%04d", index)
                    group.addTask { try await harness.get("/datasets/\(token)").status }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 200 }.count == 100)
            #expect(harness.control.rateLimitedCount == 0)
            #expect(harness.control.requestCount == 100)
        }
    }

    @Test("When the queue for Mode would wait too long, the answer is 503 with Retry-After")
    func queueBound() async throws {
        // A clock that stands still: the wait for the next token is exactly 2 s, however slow the machine is.
        try await GatewayHarness.with(
            time: ManualTimeSource().source,
            configure: {
                $0.upstream.ratePerSecond = 0.5
                $0.upstream.burst = 1
                $0.upstream.maxQueueWait = .milliseconds(100)
            }
        ) { (harness: GatewayHarness) async throws in
            #expect(try await harness.get("/datasets/ds0001").status == 200)
            let refused = try await harness.get("/datasets/ds0002")
            #expect(refused.status == 503)
            #expect(refused.headers["Retry-After"].first == "2")
            #expect(harness.control.requestCount == 1)
        }
    }
}
