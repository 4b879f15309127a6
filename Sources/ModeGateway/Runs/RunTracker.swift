import NIOCore
import Synchronization

/// Waits on runs for any number of clients with one poll of Mode per run per interval.
///
/// Each run (by its upstream path) has one watch: the last document seen, the clients waiting,
/// and at most one poller task. The poller runs while anyone waits, polling at `initialInterval`
/// and backing off to `maxInterval`; every poll goes through the upstream budget like any other
/// call. A finished run's document is kept, so later waits answer at once. When the gateway sees
/// a run go from unfinished to finished, the cache tags its route names are invalidated.
final class RunTracker: Sendable {
    struct Settings: Sendable, Equatable {
        var initialInterval: Duration = .seconds(1)
        var maxInterval: Duration = .seconds(5)
        /// The most runs remembered; idle ones beyond it are forgotten.
        var maxWatches = 10_000
        /// How long a look without waiting (`wait` zero) may take: one poll's upstream deadline.
        var lookupTimeout: Duration = .seconds(30)
    }

    /// A run as last seen.
    struct Snapshot: Sendable {
        var body: ByteBuffer
        var run: RunDocument
        var observedAt: Duration
    }

    /// What a wait ends with: the latest snapshot, and how soon it is worth asking again.
    struct Outcome: Sendable {
        var snapshot: Snapshot
        var retryAfter: Duration
    }

    typealias Fetch = @Sendable (_ path: String) async throws(GatewayError) -> ByteBuffer

    private struct Watch {
        var snapshot: Snapshot?
        var error: GatewayError?
        /// Bumped by every poll, whatever it found.
        var generation: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        /// Waiters whose time ran out (or who went away) before they could register.
        var released: Set<UInt64> = []
        /// Waits under way, registered or not: a watch with any is never forgotten.
        var activeWaits = 0
        var polling = false
        var interval: Duration
        /// What to invalidate when this run is seen to finish.
        var invalidates: [String] = []

        var isIdle: Bool { self.activeWaits == 0 && !self.polling && self.waiters.isEmpty }
    }

    private struct State {
        var watches: [String: Watch] = [:]
        var nextID: UInt64 = 0
        var polls = 0
    }

    private let state = Mutex(State())
    private let settings: Settings
    private let fetch: Fetch
    private let onFinish: @Sendable ([String]) async -> Void
    private let time: TimeSource
    private let sleeper: Sleeper

    init(settings: Settings, time: TimeSource, sleeper: Sleeper, fetch: @escaping Fetch, onFinish: @escaping @Sendable ([String]) async -> Void) {
        self.settings = settings
        self.time = time
        self.sleeper = sleeper
        self.fetch = fetch
        self.onFinish = onFinish
    }

    /// The first pause between polls: what a client is told to wait before asking again.
    var initialInterval: Duration { self.settings.initialInterval }

    /// How many polls of Mode the tracker has made; for tests and metrics.
    var polls: Int { self.state.withLock { $0.polls } }

    /// How many runs it remembers; for tests.
    var watchCount: Int { self.state.withLock { $0.watches.count } }

    /// Records a run document the gateway already has (the answer to a run POST).
    func seed(path: String, body: ByteBuffer, run: RunDocument, invalidates: [String]) {
        let now = self.time.now()
        self.state.withLock { state in
            if state.watches[path] == nil { self.forgetIdle(&state) }
            var watch = state.watches[path] ?? Watch(interval: self.settings.initialInterval)
            watch.snapshot = Snapshot(body: body, run: run, observedAt: now)
            watch.invalidates = invalidates
            state.watches[path] = watch
        }
    }

    /// The run at `path`: at once when it is finished, or when `wait` is zero and it was seen
    /// within the poll interval; otherwise after the next poll (`wait` zero) or once it finishes
    /// or `wait` passes, whichever is first.
    func wait(path: String, for wait: Duration, invalidates: [String]) async throws(GatewayError) -> Outcome {
        let deadline = self.time.now() + (wait == .zero ? self.settings.lookupTimeout : wait)
        let (id, startGeneration) = self.state.withLock { state -> (UInt64, UInt64) in
            state.nextID += 1
            if state.watches[path] == nil {
                self.forgetIdle(&state)
                state.watches[path] = Watch(interval: self.settings.initialInterval)
            }
            state.watches[path]?.activeWaits += 1
            if state.watches[path]?.invalidates.isEmpty == true { state.watches[path]?.invalidates = invalidates }
            return (state.nextID, state.watches[path]?.generation ?? 0)
        }
        defer {
            self.state.withLock { state in
                state.watches[path]?.activeWaits -= 1
                state.watches[path]?.released.remove(id)
            }
        }
        let timer = Task {
            try? await self.sleeper.sleep(max(.zero, deadline - self.time.now()))
            guard !Task.isCancelled else { return }
            self.release(path: path, id: id)
        }
        defer { timer.cancel() }
        while true {
            // Decide and register under one lock, so no poll, timer or cancellation slips between.
            var verdict: Result<Outcome, GatewayError>?
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let (decided, startPoller) = self.state.withLock { state -> (Bool, Bool) in
                        guard var watch = state.watches[path] else {
                            verdict = .failure(.internalError(detail: "run watch vanished"))
                            return (true, false)
                        }
                        let released = watch.released.remove(id) != nil || Task.isCancelled
                        verdict = self.verdict(watch, wait: wait, deadline: released ? .zero : deadline, startGeneration: startGeneration)
                        if verdict != nil {
                            state.watches[path] = watch
                            return (true, false)
                        }
                        watch.waiters[id] = continuation
                        let startPoller = !watch.polling
                        watch.polling = true
                        state.watches[path] = watch
                        return (false, startPoller)
                    }
                    if decided { continuation.resume() }
                    if startPoller { Task { await self.poll(path: path) } }
                }
            } onCancel: {
                self.release(path: path, id: id)
            }
            if let verdict { return try verdict.get() }
        }
    }

    /// What a waiter gets now, or nil to keep waiting.
    private func verdict(_ watch: Watch, wait: Duration, deadline: Duration, startGeneration: UInt64) -> Result<Outcome, GatewayError>? {
        let now = self.time.now()
        let updated = watch.generation > startGeneration
        if let snapshot = watch.snapshot {
            let fresh = now - snapshot.observedAt < self.settings.initialInterval
            if snapshot.run.isFinished || now >= deadline || (wait == .zero && (fresh || updated)) {
                return .success(Outcome(snapshot: snapshot, retryAfter: watch.interval))
            }
        }
        if let error = watch.error, updated, wait == .zero || !error.isTransient || now >= deadline {
            return .failure(error)
        }
        if now >= deadline {
            return .failure(watch.error ?? .gatewayTimeout(detail: "Mode did not answer about the run in time."))
        }
        return nil
    }

    /// Wakes one waiter (its time is up, or it went away); if it has not registered yet, it will
    /// see that it was released when it tries.
    private func release(path: String, id: UInt64) {
        let continuation = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let continuation = state.watches[path]?.waiters.removeValue(forKey: id) { return continuation }
            state.watches[path]?.released.insert(id)
            return nil
        }
        continuation?.resume()
    }

    /// Polls one run while anyone waits on it and it is not finished.
    private func poll(path: String) async {
        var first = true
        while true {
            let pause = self.state.withLock { state -> Duration? in
                guard let watch = state.watches[path] else { return nil }
                if !first || watch.snapshot == nil { return .zero }
                // A document seen just now (a run POST's answer) needs no poll straight away.
                return max(.zero, watch.interval - (self.time.now() - (watch.snapshot?.observedAt ?? .zero)))
            }
            first = false
            if let pause, pause > .zero { try? await self.sleeper.sleep(pause) }
            let result: Result<ByteBuffer, GatewayError>
            do throws(GatewayError) {
                result = .success(try await self.fetch(path))
            } catch {
                result = .failure(error)
            }
            let now = self.time.now()
            let (waiters, finishedTags, next) = self.state.withLock {
                state -> ([CheckedContinuation<Void, Never>], [String]?, Duration?) in
                state.polls += 1
                guard var watch = state.watches[path] else { return ([], nil, nil) }
                var finishedTags: [String]?
                switch result {
                case .success(let body):
                    if let run = RunDocument(body) {
                        if run.isFinished, watch.snapshot.map({ !$0.run.isFinished }) == true { finishedTags = watch.invalidates }
                        watch.snapshot = Snapshot(body: body, run: run, observedAt: now)
                        watch.error = nil
                    } else {
                        watch.error = .badGateway(detail: "Mode's run had no token or state.")
                    }
                case .failure(let error):
                    watch.error = error
                }
                watch.generation += 1
                let waiters = Array(watch.waiters.values)
                watch.waiters = [:]
                let stop = watch.snapshot?.run.isFinished == true || waiters.isEmpty
                let pause = watch.interval
                watch.interval = min(self.settings.maxInterval, watch.interval * 3 / 2)
                if stop { watch.polling = false }
                state.watches[path] = watch
                return (waiters, finishedTags, stop ? nil : pause)
            }
            if let finishedTags { await self.onFinish(finishedTags) }
            for waiter in waiters { waiter.resume() }
            guard let next else { return }
            try? await self.sleeper.sleep(next)
            // Waiters that came while sleeping are woken by the next poll; if none came, stop.
            let idle = self.state.withLock { state -> Bool in
                guard state.watches[path]?.waiters.isEmpty ?? true else { return false }
                state.watches[path]?.polling = false
                return true
            }
            if idle { return }
        }
    }

    /// Forgets runs nobody waits on, once there are too many.
    private func forgetIdle(_ state: inout State) {
        guard state.watches.count >= self.settings.maxWatches else { return }
        state.watches = state.watches.filter { !$0.value.isIdle }
    }
}

extension GatewayError {
    /// Whether asking again later may give another answer (Mode down, slow or rate limiting).
    var isTransient: Bool {
        switch self {
        case .badGateway, .upstreamUnreachable, .gatewayTimeout, .unavailable: true
        default: false
        }
    }

    /// Whether the request ran out of time or of Mode's budget, rather than Mode failing.
    var isOutOfTime: Bool {
        switch self {
        case .gatewayTimeout, .unavailable: true
        default: false
        }
    }
}
