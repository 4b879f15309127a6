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
        var polling = false
        var interval: Duration
        /// What to invalidate when this run is seen to finish.
        var invalidates: [String] = []
    }

    private struct State {
        var watches: [String: Watch] = [:]
        var nextID: UInt64 = 0
        var polls = 0
    }

    private let state = Mutex(State())
    private let settings: Settings
    private let fetch: Fetch
    private let onFinish: @Sendable ([String]) -> Void
    private let time: TimeSource
    private let sleeper: Sleeper

    init(settings: Settings, time: TimeSource, sleeper: Sleeper, fetch: @escaping Fetch, onFinish: @escaping @Sendable ([String]) -> Void) {
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

    /// Records a run document the gateway already has (the answer to a run POST).
    func seed(path: String, body: ByteBuffer, run: RunDocument, invalidates: [String]) {
        let now = self.time.now()
        self.state.withLock { state in
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
        let id = self.state.withLock { state -> UInt64 in
            state.nextID += 1
            if state.watches[path] == nil {
                self.forgetIdle(&state)
                state.watches[path] = Watch(interval: self.settings.initialInterval)
            }
            if state.watches[path]?.invalidates.isEmpty == true { state.watches[path]?.invalidates = invalidates }
            return state.nextID
        }
        let startGeneration = self.state.withLock { $0.watches[path]?.generation ?? 0 }
        let timer = Task {
            try? await self.sleeper.sleep(max(.zero, deadline - self.time.now()))
            self.release(path: path, id: id)
        }
        defer { timer.cancel() }
        while true {
            let verdict = self.state.withLock { state -> Result<Outcome, GatewayError>? in
                guard let watch = state.watches[path] else { return .failure(.internalError(detail: "run watch vanished")) }
                let now = self.time.now()
                let fresh = watch.snapshot.map { now - $0.observedAt < self.settings.initialInterval } ?? false
                if let snapshot = watch.snapshot {
                    let done =
                        snapshot.run.isFinished || now >= deadline
                        || (wait == .zero && (fresh || watch.generation > startGeneration))
                    if done { return .success(Outcome(snapshot: snapshot, retryAfter: watch.interval)) }
                }
                if let error = watch.error, watch.generation > startGeneration, wait == .zero || !error.isTransient || now >= deadline {
                    return .failure(error)
                }
                if now >= deadline, watch.generation > startGeneration || wait > .zero {
                    return .failure(watch.error ?? .gatewayTimeout(detail: "Mode did not answer about the run in time."))
                }
                return nil
            }
            if let verdict { return try verdict.get() }
            if Task.isCancelled { throw .gatewayTimeout(detail: "The request was cancelled while waiting for the run.") }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let startPoller = self.state.withLock { state -> Bool in
                        state.watches[path]?.waiters[id] = continuation
                        guard state.watches[path]?.polling == false else { return false }
                        state.watches[path]?.polling = true
                        return true
                    }
                    if startPoller { Task { await self.poll(path: path) } }
                }
            } onCancel: {
                self.release(path: path, id: id)
            }
        }
    }

    /// Wakes one waiter (its time is up, or it went away).
    private func release(path: String, id: UInt64) {
        let continuation = self.state.withLock { $0.watches[path]?.waiters.removeValue(forKey: id) }
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
            if let finishedTags { self.onFinish(finishedTags) }
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
        state.watches = state.watches.filter { !$0.value.waiters.isEmpty || $0.value.polling }
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
}
