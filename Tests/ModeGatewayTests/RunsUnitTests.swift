import Foundation
import NIOCore
import Synchronization
import Testing

@testable import ModeGateway

/// A clock whose sleepers wake only when the test moves time on.
final class ManualClock: Sendable {
    private struct Sleeping {
        var until: Duration
        var continuation: CheckedContinuation<Void, Never>
    }

    private let state = Mutex<(now: Duration, sleeping: [Sleeping])>((.zero, []))

    var time: TimeSource { TimeSource { self.state.withLock { $0.now } } }

    var sleeper: Sleeper {
        Sleeper { duration in
            await withCheckedContinuation { continuation in
                let wake = self.state.withLock { state -> Bool in
                    guard duration > .zero else { return true }
                    state.sleeping.append(Sleeping(until: state.now + duration, continuation: continuation))
                    return false
                }
                if wake { continuation.resume() }
            }
        }
    }

    var sleepers: Int { self.state.withLock { $0.sleeping.count } }

    /// Moves time on and wakes whoever's sleep is over.
    func advance(by duration: Duration) {
        let woken = self.state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.now += duration
            let due = state.sleeping.filter { $0.until <= state.now }
            state.sleeping.removeAll { $0.until <= state.now }
            return due.map(\.continuation)
        }
        for continuation in woken { continuation.resume() }
    }
}

/// Waits (in real time, briefly) until `condition` holds; for handing work between tasks. The
/// test fails if it never does.
func eventually(_ condition: () -> Bool, limit: Duration = .seconds(10), sourceLocation: SourceLocation = #_sourceLocation) async throws {
    let started = ContinuousClock.now
    while !condition() {
        guard ContinuousClock.now - started < limit else {
            Issue.record("a condition never held", sourceLocation: sourceLocation)
            return
        }
        try await Task.sleep(for: .milliseconds(2))
    }
}

@Suite("Shared run polling and idempotency keys, on an injected clock")
struct RunsUnitTests {
    /// A fake Mode for one run: it answers its state, and counts the polls.
    final class FakeRun: Sendable {
        let state = Mutex<(state: String, polls: Int)>(("enqueued", 0))

        func body() -> ByteBuffer {
            self.state.withLock { state in
                state.polls += 1
                return ByteBuffer(string: #"{"token":"r1","state":"\#(state.state)"}"#)
            }
        }

        var polls: Int { self.state.withLock { $0.polls } }
        func set(_ value: String) { self.state.withLock { $0.state = value } }
    }

    @Test("A hundred waiters on one run cost one poll per interval, and all see it finish")
    func sharedPolls() async throws {
        let clock = ManualClock()
        let run = FakeRun()
        let invalidated = Mutex<[[String]]>([])
        let tracker = RunTracker(
            settings: .init(initialInterval: .seconds(1), maxInterval: .seconds(4)),
            time: clock.time,
            sleeper: clock.sleeper,
            fetch: { _ in run.body() },
            onFinish: { tags in invalidated.withLock { $0.append(tags) } }
        )
        let waiters = (0..<100).map { _ in
            Task { try await tracker.wait(path: "/w/reports/x/runs/r1", for: .seconds(60), invalidates: ["report:x"]) }
        }
        // The first poll happens at once; then one per interval: 1 s, 1.5 s, 2.25 s …
        try await eventually { run.polls == 1 }
        for round in 0..<3 {
            // A hundred waiters' timers, and the poller between polls.
            try await eventually { clock.sleepers == 101 }
            clock.advance(by: .seconds(3))
            try await eventually { run.polls == round + 2 }
        }
        let pollsWhileRunning = run.polls
        #expect(pollsWhileRunning <= 4, "polls \(pollsWhileRunning)")
        #expect(invalidated.withLock { $0.isEmpty })
        run.set("succeeded")
        try await eventually { clock.sleepers == 101 }
        clock.advance(by: .seconds(5))
        for waiter in waiters {
            let outcome = try await waiter.value
            #expect(outcome.snapshot.run.state == "succeeded")
        }
        #expect(run.polls <= pollsWhileRunning + 1)
        #expect(invalidated.withLock { $0 } == [["report:x"]])
        // A finished run is answered from memory.
        let again = try await tracker.wait(path: "/w/reports/x/runs/r1", for: .zero, invalidates: [])
        #expect(again.snapshot.run.isFinished && run.polls <= pollsWhileRunning + 1)
    }

    @Test("A waiter whose time is up gets the run as it is, unfinished")
    func waitRunsOut() async throws {
        let clock = ManualClock()
        let run = FakeRun()
        let tracker = RunTracker(settings: .init(), time: clock.time, sleeper: clock.sleeper, fetch: { _ in run.body() }, onFinish: { _ in })
        let waiter = Task { try await tracker.wait(path: "/p", for: .seconds(2), invalidates: []) }
        try await eventually { run.polls == 1 && clock.sleepers == 2 }
        clock.advance(by: .seconds(2))
        let outcome = try await waiter.value
        #expect(outcome.snapshot.run.state == "enqueued")
        #expect(outcome.retryAfter >= .seconds(1))
    }

    @Test("A run Mode does not know is a 404 at once, not after the wait")
    func unknownRun() async throws {
        let clock = ManualClock()
        let tracker = RunTracker(
            settings: .init(),
            time: clock.time,
            sleeper: clock.sleeper,
            fetch: { _ throws(GatewayError) in throw .notFound(detail: "Report run not found") },
            onFinish: { _ in }
        )
        await #expect(throws: GatewayError.notFound(detail: "Report run not found")) {
            try await tracker.wait(path: "/p", for: .seconds(30), invalidates: [])
        }
    }

    @Test("An idempotency key replays the first answer, refuses another body, and expires")
    func idempotency() async throws {
        let clock = ManualClock()
        let store = IdempotencyStore(ttl: .seconds(60), time: clock.time)
        let calls = Mutex(0)
        let answer = IdempotencyStore.Answer(status: .accepted, location: "/reports/x/runs/r1", body: ByteBuffer(string: "{}"))
        let operation: @Sendable () async -> IdempotencyStore.Outcome = {
            calls.withLock { $0 += 1 }
            return .success(answer)
        }
        let first = try await store.perform(client: "key:a", key: "k1", fingerprint: [1], operation: operation)
        #expect(!first.replayed && calls.withLock { $0 } == 1)
        let second = try await store.perform(client: "key:a", key: "k1", fingerprint: [1], operation: operation)
        #expect(second.replayed && second.answer.location == "/reports/x/runs/r1" && calls.withLock { $0 } == 1)
        await #expect(throws: GatewayError.idempotencyKeyReused) {
            try await store.perform(client: "key:a", key: "k1", fingerprint: [2], operation: operation)
        }
        // Another client's key of the same name is another key.
        _ = try await store.perform(client: "key:b", key: "k1", fingerprint: [2], operation: operation)
        #expect(calls.withLock { $0 } == 2)
        clock.advance(by: .seconds(61))
        let later = try await store.perform(client: "key:a", key: "k1", fingerprint: [2], operation: operation)
        #expect(!later.replayed && calls.withLock { $0 } == 3)
    }

    @Test("A failure that never reached Mode is not kept; one that may have is")
    func failures() async throws {
        let store = IdempotencyStore(ttl: .seconds(60), time: ManualClock().time)
        let calls = Mutex(0)
        func failing(_ error: GatewayError) -> @Sendable () async -> IdempotencyStore.Outcome {
            {
                calls.withLock { $0 += 1 }; return .failure(error)
            }
        }
        for _ in 0..<2 {
            await #expect(throws: GatewayError.upstreamUnreachable) {
                try await store.perform(client: "c", key: "unreachable", fingerprint: [1], operation: failing(.upstreamUnreachable))
            }
        }
        #expect(calls.withLock { $0 } == 2)
        for _ in 0..<2 {
            await #expect(throws: GatewayError.gatewayTimeout(detail: "slow")) {
                try await store.perform(client: "c", key: "timeout", fingerprint: [1], operation: failing(.gatewayTimeout(detail: "slow")))
            }
        }
        #expect(calls.withLock { $0 } == 3)
    }

    final class Counter: Sendable {
        private let value = Mutex(0)
        func increment() { self.value.withLock { $0 += 1 } }
        var count: Int { self.value.withLock { $0 } }
    }

    @Test("Concurrent requests with one key run the operation once")
    func concurrentDuplicates() async throws {
        let store = IdempotencyStore(ttl: .seconds(60), time: ManualClock().time)
        let calls = Counter()
        let gate = ManualClock()
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    try await store.perform(client: "c", key: "k", fingerprint: [7]) {
                        calls.increment()
                        try? await gate.sleeper.sleep(.seconds(1))
                        return .success(IdempotencyStore.Answer(status: .accepted, location: nil, body: ByteBuffer()))
                    }.replayed
                }
            }
            try await eventually { gate.sleepers == 1 }
            gate.advance(by: .seconds(1))
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(calls.count == 1)
        #expect(results.filter { !$0 }.count == 1 && results.filter { $0 }.count == 19)
    }

    @Test("Run watches and idempotency records stay within their bounds")
    func bounds() async throws {
        let clock = ManualClock()
        let run = FakeRun()
        run.set("succeeded")
        let tracker = RunTracker(
            settings: .init(maxWatches: 10),
            time: clock.time,
            sleeper: clock.sleeper,
            fetch: { _ in run.body() },
            onFinish: { _ in }
        )
        for index in 0..<50 {
            tracker.seed(path: "/w/reports/x/runs/r\(index)", body: run.body(), run: try #require(RunDocument(run.body())), invalidates: [])
            _ = try await tracker.wait(path: "/w/reports/y/runs/r\(index)", for: .zero, invalidates: [])
        }
        #expect(tracker.watchCount <= 11)

        let store = IdempotencyStore(ttl: .seconds(60), maxRecords: 3, time: clock.time)
        let calls = Counter()
        let operation: @Sendable () async -> IdempotencyStore.Outcome = {
            calls.increment()
            return .success(IdempotencyStore.Answer(status: .accepted, location: nil, body: ByteBuffer()))
        }
        for index in 0..<10 { _ = try await store.perform(client: "c", key: "k\(index)", fingerprint: [1], operation: operation) }
        #expect(calls.count == 10)
        // The newest keys are kept; the oldest made room for them.
        #expect(try await store.perform(client: "c", key: "k9", fingerprint: [1], operation: operation).replayed)
        #expect(try await !store.perform(client: "c", key: "k0", fingerprint: [1], operation: operation).replayed)
    }

    @Test("Idempotency keys are 1 to 255 printable ASCII characters")
    func keySyntax() {
        #expect(IdempotencyStore.isValid(key: "a"))
        #expect(IdempotencyStore.isValid(key: String(repeating: "k", count: 255)))
        #expect(IdempotencyStore.isValid(key: "order 42/retry#1"))
        for bad in ["", String(repeating: "k", count: 256), " lead", "trail ", "tab\there", "ünï"] {
            #expect(!IdempotencyStore.isValid(key: bad), "\(bad)")
        }
    }
}
