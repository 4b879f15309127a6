import AsyncHTTPClient
import Logging
import Synchronization
import Testing

@testable import ModeGateway

@Suite("Clients take turns for Mode's budget")
struct FairQueueTests {
    @Test("The queue serves clients round robin, each client's own requests in order")
    func roundRobin() {
        var queue = FairQueue<String>()
        for index in 1...4 { queue.enqueue("a\(index)", id: UInt64(index), client: "a") }
        queue.enqueue("b1", id: 10, client: "b")
        queue.enqueue("c1", id: 20, client: "c")
        queue.enqueue("c2", id: 21, client: "c")
        // The estimate errs long, never short: a new request of b's goes fifth (a1 b1 c1 a2 b2),
        // and is counted behind c2 as well.
        #expect(queue.position(of: "b") == 6)
        // One more of a's goes behind all of a's four, and everyone else's.
        #expect(queue.position(of: "a") == 4 + 1 + 1 + 2)
        // A new client goes in the first round.
        #expect(queue.position(of: "d") == 4)
        #expect(queue.remove(id: 2, client: "a") == "a2")
        #expect(queue.remove(id: 2, client: "a") == nil, "a request is taken out once")
        var order: [String] = []
        while let entry = queue.next() { order.append(entry.waiter) }
        #expect(order == ["a1", "b1", "c1", "a3", "c2", "a4"])
        #expect(queue.isEmpty && queue.count == 0)
    }

    @Test("Expired requests are taken out, and a client left with none loses its turn")
    func removeAll() {
        var queue = FairQueue<Int>()
        queue.enqueue(1, id: 1, client: "a")
        queue.enqueue(2, id: 2, client: "b")
        queue.enqueue(3, id: 3, client: "a")
        let gone = queue.removeAll { $0.waiter != 3 }
        #expect(Set(gone.map(\.waiter)) == [1, 2])
        #expect(queue.count == 1)
        #expect(queue.next()?.waiter == 3)
        #expect(queue.next() == nil)
    }

    @Test("A quiet client's one request goes ahead of a busy client's queue")
    func quietClientIsNotStarved() async throws {
        let clock = SteppedClock()
        let executor = try Self.executor(rate: 10, burst: 1, maxQueueWait: .seconds(60), clock: clock)
        let order = ServedOrder()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    try await executor.waitForPermission(client: "key:busy", deadline: .seconds(100))
                    order.append("busy")
                }
            }
            // One went at once (the burst); nineteen wait.
            try await clock.until({ executor.statistics.limiterWaits == 19 }, "\(executor.statistics)")
            group.addTask {
                try await executor.waitForPermission(client: "key:quiet", deadline: .seconds(100))
                order.append("quiet")
            }
            try await clock.until { executor.statistics.limiterWaits == 20 }
            // Twenty slots, one step each; each call records itself before the next slot comes,
            // so the order recorded is the order served.
            for served in 2...21 {
                try await clock.step()
                try await clock.until({ order.names.count == served }, "\(order.names)")
            }
            try await group.waitForAll()
        }
        let served = order.names
        let quiet = try #require(served.firstIndex(of: "quiet"))
        // The burst's one, the one whose slot was already being waited for, then the quiet one:
        // first in, first out would have put it last, at 20.
        #expect(quiet <= 2, "served: \(served)")
        #expect(served.count == 21)
    }

    @Test("A busy client is refused when its own line is too long; a quiet one still gets in")
    func admissionIsPerClient() async throws {
        let clock = SteppedClock()
        // One slot a second; a call may wait three.
        let executor = try Self.executor(rate: 1, burst: 1, maxQueueWait: .seconds(3), clock: clock)
        try await executor.waitForPermission(client: "key:busy", deadline: .seconds(100))
        let outcomes = ServedOrder()
        try await withThrowingTaskGroup(of: Void.self) { group in
            func call(_ client: String, _ name: String) {
                group.addTask {
                    do {
                        try await executor.waitForPermission(client: client, deadline: .seconds(100))
                        outcomes.append("\(name) went")
                    } catch {
                        outcomes.append("\(name) refused")
                    }
                }
            }
            // Three of the busy client's calls queue, for the slots at 1, 2 and 3 s.
            for name in ["busy 1", "busy 2", "busy 3"] {
                call("key:busy", name)
                try await clock.until(
                    { outcomes.names.isEmpty && executor.statistics.limiterWaits == Int(name.suffix(1))! },
                    "\(executor.statistics)"
                )
            }
            // A fourth would wait four seconds: refused at once, with 503.
            await #expect(throws: GatewayError.self) {
                try await executor.waitForPermission(client: "key:busy", deadline: .seconds(100))
            }
            #expect(executor.statistics.limiterRejections == 1)
            // The quiet client's one call goes second, behind the first busy one.
            call("key:quiet", "quiet")
            try await clock.until({ executor.statistics.limiterWaits == 4 }, "\(executor.statistics)")
            for _ in 0..<3 { try await clock.step() }
            try await group.waitForAll()
        }
        // The third busy call, pushed back a slot by the quiet one, ran out of its three seconds.
        #expect(
            Set(outcomes.names) == ["busy 1 went", "quiet went", "busy 2 went", "busy 3 refused"]
        )
        #expect(executor.statistics.limiterRejections == 2)
    }

    @Test("A request cancelled while it waits leaves the queue and the others still go")
    func cancellation() async throws {
        let clock = SteppedClock()
        let executor = try Self.executor(rate: 1, burst: 1, maxQueueWait: .seconds(60), clock: clock)
        try await executor.waitForPermission(client: "a", deadline: .seconds(100))
        let cancelled = Task { try await executor.waitForPermission(client: "a", deadline: .seconds(100)) }
        try await clock.until { executor.statistics.limiterWaits == 1 }
        cancelled.cancel()
        await #expect(throws: GatewayError.self) { try await cancelled.value }
        let next = Task { try await executor.waitForPermission(client: "b", deadline: .seconds(100)) }
        try await clock.until { executor.statistics.limiterWaits == 2 }
        try await clock.step()
        try await next.value
    }

    @Test("A call whose slot comes after the breaker opened asks it again: after the cool-down it is the one probe")
    func breakerAfterQueueing() throws {
        func goes(_ result: Result<Bool, GatewayError>) -> Bool? { try? result.get() }
        var breaker = CircuitBreaker(threshold: 1, cooldown: .seconds(2))
        #expect(goes(UpstreamExecutor.afterQueueing(&breaker, isProbe: false, now: .seconds(1))) == false, "closed: it goes")
        breaker.recordFailure(now: .seconds(1))
        // Opened while it waited, and still cooling down: refused.
        #expect(goes(UpstreamExecutor.afterQueueing(&breaker, isProbe: false, now: .seconds(2))) == nil)
        // Its slot comes after the cool-down: it goes, as the probe, and the next waits for it.
        #expect(goes(UpstreamExecutor.afterQueueing(&breaker, isProbe: false, now: .seconds(3))) == true)
        #expect(goes(UpstreamExecutor.afterQueueing(&breaker, isProbe: false, now: .seconds(3))) == nil)
        // The probe that queued goes while the breaker waits for it.
        #expect(goes(UpstreamExecutor.afterQueueing(&breaker, isProbe: true, now: .seconds(3))) == true)
    }

    static func executor(rate: Double, burst: Int, maxQueueWait: Duration, clock: SteppedClock) throws -> UpstreamExecutor {
        var settings = UpstreamExecutor.Settings()
        settings.ratePerSecond = rate
        settings.burst = burst
        settings.maxQueueWait = maxQueueWait
        let logger = Logger(label: "test")
        let client = try ModeClient(
            httpClient: .shared,
            baseURL: "http://127.0.0.1:9/api",
            credentials: ModeCredentials(token: "t", secret: "s"),
            maxResponseBytes: 1024,
            logger: logger
        )
        return UpstreamExecutor(client: client, settings: settings, time: clock.time.source, sleeper: clock.sleeper, logger: logger)
    }
}

/// The order in which waiting calls were let through.
final class ServedOrder: Sendable {
    private let served = Mutex<[String]>([])
    func append(_ name: String) { self.served.withLock { $0.append(name) } }
    var names: [String] { self.served.withLock { $0 } }
}

/// A clock whose sleeps end only when the test steps it: each step ends the oldest sleep and
/// moves the time on by its length. So the order of events is the test's, not the scheduler's.
final class SteppedClock: Sendable {
    let time = ManualTimeSource()
    private let sleeping = Mutex<[(Duration, CheckedContinuation<Void, Never>)]>([])

    var sleeper: Sleeper {
        Sleeper { duration in
            await withCheckedContinuation { continuation in
                self.sleeping.withLock { $0.append((duration, continuation)) }
            }
        }
    }

    /// Ends the oldest sleep, waiting for one to begin.
    func step() async throws {
        try await self.until { self.sleeping.withLock { !$0.isEmpty } }
        let (duration, continuation) = self.sleeping.withLock { $0.removeFirst() }
        self.time.advance(by: duration)
        continuation.resume()
    }

    /// Lets the other tasks run until `condition` holds; fails rather than hang.
    func until(_ condition: () -> Bool, _ comment: @autoclosure () -> String = "", sourceLocation: SourceLocation = #_sourceLocation) async throws {
        for _ in 0..<100_000 {
            if condition() { return }
            await Task.yield()
        }
        Issue.record("the condition never held \(comment())", sourceLocation: sourceLocation)
        throw CancellationError()
    }
}
