import HTTPTypes
import Logging
import Synchronization

/// Everything between the pipeline and one HTTP exchange with Mode: the circuit breaker, the
/// outbound rate limit, retries with backoff, and the deadline that bounds them all.
///
/// The policy parts are pure state machines (``CircuitBreaker``, ``TokenBucket``,
/// ``RetryPolicy``); this type holds them behind a lock and does the waiting.
public final class UpstreamExecutor: Sendable {
    /// The resilience settings, from `MODE_*` configuration.
    public struct Settings: Sendable, Equatable {
        /// Outbound rate: one token bucket shared by every request.
        public var ratePerSecond = 3.0
        public var burst = 5
        /// The longest a request may queue for a token before it is refused with 503.
        public var maxQueueWait: Duration = .seconds(10)
        public var retry = RetryPolicy()
        /// Consecutive failures that open the breaker, and how long it stays open.
        public var breakerThreshold = 5
        public var breakerCooldown: Duration = .seconds(30)

        public init() {}

        /// The whole fleet's rate as a bucket: its slot interval and burst window.
        var fleetBucket: TokenBucket { TokenBucket(ratePerSecond: self.ratePerSecond, burst: self.burst) }
        /// The time between two of the fleet's slots of Mode's budget.
        var slotInterval: Duration { self.fleetBucket.interval }
    }

    /// What the breaker and limiter are doing; for `/metrics`.
    public struct Statistics: Sendable, Equatable {
        public var retries = 0
        public var limiterWaits = 0
        public var limiterRejections = 0
        public var breakerRejections = 0
        public var breakerOpenings = 0
        /// 0 closed, 1 half-open, 2 open.
        public var breakerState = 0
    }

    /// A request waiting in the queue for its slot.
    private struct Waiter {
        /// When it stops waiting and gets 503, on ``TimeSource``'s clock.
        let giveUp: Duration
        let continuation: CheckedContinuation<Result<Void, GatewayError>, Never>
    }

    private struct State {
        var bucket: TokenBucket
        var breaker: CircuitBreaker
        var random = SystemRandomNumberGenerator()
        var statistics = Statistics()
        /// Requests waiting for a slot, served round robin by client.
        var queue = FairQueue<Waiter>()
        /// Whether a task is handing out slots to the queue; set and cleared under the lock,
        /// with the queue, so no waiter is left without one.
        var dispatching = false
        /// Whether the dispatcher holds a reserved slot for the next in turn.
        var slotHeld = false
        var nextWaiterID: UInt64 = 0
    }

    let client: ModeClient
    let settings: Settings
    private let state: Mutex<State>
    private let time: TimeSource
    private let sleeper: Sleeper
    private let logger: Logger
    /// The fleet's one budget, when replicas share it; the local bucket is then this replica's
    /// fallback share, used only while the shared one cannot be reached.
    private let shared: (any SharedBudget)?
    /// The fleet's rate, as one slot interval and a burst window, for the shared budget.
    private let fleetRate: TokenBucket
    /// Told of every HTTP exchange: the status (or failure kind) and how long it took.
    private let observe: @Sendable (String, Duration) -> Void

    init(
        client: ModeClient,
        settings: Settings,
        time: TimeSource = .system,
        sleeper: Sleeper = .system,
        logger: Logger,
        shared: (any SharedBudget)? = nil,
        replicas: Int = 1,
        observe: @escaping @Sendable (String, Duration) -> Void = { _, _ in }
    ) {
        self.observe = observe
        self.shared = shared
        self.fleetRate = settings.fleetBucket
        let localShare = shared == nil ? 1 : max(1, replicas)
        self.client = client
        self.settings = settings
        self.time = time
        self.sleeper = sleeper
        self.logger = logger
        self.state = Mutex(
            State(
                bucket: TokenBucket(
                    ratePerSecond: settings.ratePerSecond / Double(localShare),
                    burst: max(1, settings.burst / localShare)
                ),
                breaker: CircuitBreaker(threshold: settings.breakerThreshold, cooldown: settings.breakerCooldown)
            )
        )
    }

    public var statistics: Statistics {
        self.state.withLock { state in
            var statistics = state.statistics
            switch state.breaker.state {
            case .closed: statistics.breakerState = 0
            case .halfOpen: statistics.breakerState = 1
            case .open: statistics.breakerState = 2
            }
            return statistics
        }
    }

    /// Sends a request, retrying what is safe to retry, until it gets an answer worth returning
    /// or `deadline` (on ``TimeSource``'s clock) passes. HTTP error statuses are returned for the
    /// caller to map, after retries. `client` is who the call is for: when calls queue for Mode's
    /// budget, clients take turns.
    func send(_ request: UpstreamRequest, for client: String, deadline: Duration, maxAttempts: Int? = nil) async throws(GatewayError)
        -> UpstreamResponse
    {
        var attempt = 1
        while true {
            let probe = try await self.waitForPermission(client: client, deadline: deadline)
            let remaining = deadline - self.time.now()
            guard remaining > .zero else {
                if probe { self.state.withLock { $0.breaker.releaseProbe(now: self.time.now()) } }
                throw UpstreamFailure.timedOut.gatewayError
            }
            let outcome: Result<UpstreamResponse, UpstreamFailure>
            let started = ContinuousClock.now
            do throws(UpstreamFailure) {
                outcome = .success(try await self.client.send(request, timeout: remaining))
            } catch {
                outcome = .failure(error)
            }
            switch outcome {
            case .success(let response): self.observe(String(response.status.code), ContinuousClock.now - started)
            case .failure(let failure): self.observe(failure.metricLabel, ContinuousClock.now - started)
            }
            if case .failure = outcome, Task.isCancelled {
                // The caller left, and its call ended with it: that says nothing of Mode, and there
                // is nobody to retry for.
                if probe { self.state.withLock { $0.breaker.releaseProbe(now: self.time.now()) } }
                throw Self.cancelled
            }
            let verdict = self.judge(outcome, request: request)
            if let pause = self.record(verdict, response: outcome), let shared = self.shared {
                // Every replica holds off, not only this one.
                await shared.pause(for: pause, interval: self.fleetRate.interval, burstWindow: self.fleetRate.burstWindow)
            }

            guard verdict.retryable, attempt < (maxAttempts ?? Int.max), let delay = self.retryDelay(attempt: attempt, outcome: outcome),
                self.time.now() + delay < deadline
            else {
                switch outcome {
                case .success(let response): return response
                case .failure(let failure): throw failure.gatewayError
                }
            }
            self.state.withLock { $0.statistics.retries += 1 }
            self.logger.debug("Retrying upstream call", metadata: ["attempt": "\(attempt + 1)", "delay": "\(delay)"])
            try? await self.sleeper.sleep(delay)
            attempt += 1
        }
    }

    /// Passes the breaker and the rate limiter. A slot free now is taken at once; otherwise the
    /// call waits in the queue, where clients take turns, until a slot is handed to it.
    /// - Returns: whether this call is the half-open breaker's one probe.
    @discardableResult
    func waitForPermission(client: String, deadline: Duration) async throws(GatewayError) -> Bool {
        let now = self.time.now()
        // Out of time before it starts: no slot is spent on it.
        guard deadline > now else { throw UpstreamFailure.timedOut.gatewayError }
        let maxWait = min(self.settings.maxQueueWait, deadline - now)
        let permission = self.state.withLock { state -> Result<Bool, GatewayError> in
            switch state.breaker.acquire(now: now) {
            case .allowed: return .success(false)
            case .probe: return .success(true)
            case .rejected(let retryAfter):
                state.statistics.breakerRejections += 1
                return .failure(Self.breakerOpen(retryAfter: retryAfter))
            }
        }
        let isProbe = try permission.get()
        // Nobody waiting: take a slot if one is free now, without queueing.
        if self.state.withLock({ $0.queue.isEmpty }), case .granted = await self.reserveSlot(maxWait: .zero) { return isProbe }
        do {
            try await self.queue(client: client, giveUp: now + maxWait, maxWait: maxWait)
        } catch {
            // A probe that never went tells nothing about Mode: let another call be the probe.
            if isProbe { self.state.withLock { $0.breaker.releaseProbe(now: self.time.now()) } }
            throw error
        }
        // The breaker may have opened while this call queued for its slot: it asks the breaker
        // again, as a new call would. The probe it already is goes while the breaker waits for it.
        let after = self.time.now()
        let verdict = self.state.withLock { state -> Result<Bool, GatewayError> in
            let verdict = Self.afterQueueing(&state.breaker, isProbe: isProbe, now: after)
            if case .failure = verdict { state.statistics.breakerRejections += 1 }
            return verdict
        }
        return try verdict.get()
    }

    /// The breaker's word on a call whose slot has come after it queued: whether it goes, and
    /// whether it goes as the probe. A closed breaker lets it go as it was; the probe it already
    /// is goes while the breaker waits for it; otherwise it asks as a new call would, so a call
    /// whose slot comes after the cool-down is the probe, not one of many going to a failing Mode.
    static func afterQueueing(_ breaker: inout CircuitBreaker, isProbe: Bool, now: Duration) -> Result<Bool, GatewayError> {
        if case .closed = breaker.state { return .success(isProbe) }
        if isProbe, case .halfOpen = breaker.state { return .success(true) }
        switch breaker.acquire(now: now) {
        case .allowed: return .success(false)
        case .probe: return .success(true)
        case .rejected(let retryAfter): return .failure(Self.breakerOpen(retryAfter: retryAfter))
        }
    }

    /// One slot of the budget: the fleet's shared one, or this replica's own share while that
    /// cannot be reached (or there is none).
    /// - Parameter holding: the dispatcher's reservation, marked held in the same step, so an
    ///   estimate never sees the bucket moved without the slot held.
    private func reserveSlot(maxWait: Duration, holding: Bool = false) async -> TokenBucket.Reservation {
        if let shared = self.shared,
            let reservation = await shared.reserve(interval: self.fleetRate.interval, burstWindow: self.fleetRate.burstWindow, maxWait: maxWait)
        {
            if holding, case .granted = reservation { self.state.withLock { $0.slotHeld = true } }
            return reservation
        }
        let now = self.time.now()
        return self.state.withLock { state in
            let reservation = state.bucket.reserve(now: now, maxWait: maxWait)
            if holding, case .granted = reservation { state.slotHeld = true }
            return reservation
        }
    }

    /// Waits in the queue for a slot. Refused at once with 503 when this client's place in the
    /// queue is further away than `maxWait`; refused with 503 at `giveUp` if no slot came by then.
    private func queue(client: String, giveUp: Duration, maxWait: Duration) async throws(GatewayError) {
        let id = self.state.withLock { state -> UInt64 in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<Void, GatewayError>, Never>) in
                let refusal = self.state.withLock { state -> Result<Void, GatewayError>? in
                    if Task.isCancelled { return .failure(Self.cancelled) }
                    let now = self.time.now()
                    // The slot the dispatcher holds goes to the first in turn; each later one
                    // comes a slot after the next free one.
                    let ahead = max(0, state.queue.position(of: client) - 1 - (state.slotHeld ? 1 : 0))
                    let estimate = state.bucket.delay(now: now) + self.fleetRate.interval * ahead
                    if estimate > maxWait {
                        state.statistics.limiterRejections += 1
                        return .failure(Self.queueFull(retryAfter: estimate))
                    }
                    state.statistics.limiterWaits += 1
                    state.queue.enqueue(Waiter(giveUp: giveUp, continuation: continuation), id: id, client: client)
                    guard !state.dispatching else { return nil }
                    state.dispatching = true
                    Task { await self.dispatch() }
                    return nil
                }
                if let refusal { continuation.resume(returning: refusal) }
            }
        } onCancel: {
            let waiter = self.state.withLock { $0.queue.remove(id: id, client: client) }
            waiter?.continuation.resume(returning: .failure(Self.cancelled))
        }
        try result.get()
    }

    /// Hands out slots to the queue, one at a time, until it is empty: reserve a slot, wait for
    /// it, give it to the next client in turn. Those who ran out of time get their 503 on the way.
    private func dispatch() async {
        while true {
            let now = self.time.now()
            let (expired, empty) = self.state.withLock { state in
                let expired = state.queue.removeAll { $0.waiter.giveUp <= now }
                if !expired.isEmpty { state.statistics.limiterRejections += expired.count }
                if state.queue.isEmpty { state.dispatching = false }
                return (expired, state.queue.isEmpty)
            }
            for entry in expired {
                entry.waiter.continuation.resume(returning: .failure(Self.queueFull(retryAfter: self.fleetRate.interval)))
            }
            if empty { return }
            // No slot further away than the longest any waiter will still wait.
            let longest = self.state.withLock { $0.queue.entries.lazy.map(\.waiter.giveUp).max() } ?? now
            switch await self.reserveSlot(maxWait: max(.zero, longest - now), holding: true) {
            case .granted(let wait):
                await self.waitForSlot(at: now + wait)
                let woke = self.time.now()
                // The next in turn whose time is not up; those whose time ran out meanwhile get 503.
                // A slot that comes exactly at a waiter's bound is still in time for it (admission
                // counts it so); above, before any slot is held, a waiter at its bound has none.
                let (next, late) = self.state.withLock { state in
                    state.slotHeld = false
                    var late: [FairQueue<Waiter>.Entry] = []
                    var next: FairQueue<Waiter>.Entry?
                    while next == nil, let entry = state.queue.next() {
                        if entry.waiter.giveUp < woke { late.append(entry) } else { next = entry }
                    }
                    state.statistics.limiterRejections += late.count
                    return (next, late)
                }
                for entry in late {
                    entry.waiter.continuation.resume(returning: .failure(Self.queueFull(retryAfter: self.fleetRate.interval)))
                }
                // Nobody left (all cancelled or late): the slot goes unused, which errs on Mode's side.
                next?.waiter.continuation.resume(returning: .success(()))
            case .rejected(let retryAfter):
                // The budget is spoken for beyond any wait: the next in turn is refused.
                let next = self.state.withLock { state in
                    let next = state.queue.next()
                    if next != nil { state.statistics.limiterRejections += 1 }
                    return next
                }
                next?.waiter.continuation.resume(returning: .failure(Self.queueFull(retryAfter: retryAfter)))
            }
        }
    }

    /// Sleeps until the held slot comes, waking at each waiter's give-up time on the way to
    /// send it its 503 then, not when the slot comes.
    private func waitForSlot(at slot: Duration) async {
        while true {
            let now = self.time.now()
            guard now < slot else { return }
            let expired = self.state.withLock { state in
                let expired = state.queue.removeAll { $0.waiter.giveUp <= now }
                state.statistics.limiterRejections += expired.count
                return expired
            }
            for entry in expired {
                entry.waiter.continuation.resume(returning: .failure(Self.queueFull(retryAfter: slot - now)))
            }
            let earliest = self.state.withLock { $0.queue.entries.lazy.map(\.waiter.giveUp).min() } ?? slot
            do {
                try await self.sleeper.sleep(min(slot, max(earliest, now)) - now)
            } catch {
                return
            }
        }
    }

    private static func breakerOpen(retryAfter: Duration) -> GatewayError {
        .unavailable(detail: "Mode is failing; the gateway is giving it time to recover.", retryAfterSeconds: Self.seconds(retryAfter))
    }

    private static func queueFull(retryAfter: Duration) -> GatewayError {
        .unavailable(detail: "Too many requests are waiting for Mode; try again later.", retryAfterSeconds: Self.seconds(retryAfter))
    }

    private static let cancelled = GatewayError.unavailable(detail: "The request was cancelled while it waited for Mode.", retryAfterSeconds: 1)

    /// What an outcome means for the breaker and for retrying.
    private struct Verdict {
        var modeFailed: Bool
        var retryable: Bool
    }

    private func judge(_ outcome: Result<UpstreamResponse, UpstreamFailure>, request: UpstreamRequest) -> Verdict {
        switch outcome {
        case .success(let response):
            let code = response.status.code
            let modeFailed = code >= 500
            let retryable = request.isIdempotentRead && [429, 502, 503, 504].contains(code)
            return Verdict(modeFailed: modeFailed, retryable: retryable)
        case .failure(let failure):
            // A write is retried only when it provably never reached Mode.
            let retryable = failure == .connectFailed || (request.isIdempotentRead && failure == .connectionDropped)
            return Verdict(modeFailed: failure != .responseTooLarge, retryable: retryable)
        }
    }

    /// Feeds the breaker; returns how long Mode asked everyone to hold off, if it did.
    private func record(_ verdict: Verdict, response: Result<UpstreamResponse, UpstreamFailure>) -> Duration? {
        let now = self.time.now()
        return self.state.withLock { state -> Duration? in
            if verdict.modeFailed {
                let wasOpen: Bool = if case .open = state.breaker.state { true } else { false }
                state.breaker.recordFailure(now: now)
                if case .open = state.breaker.state, !wasOpen {
                    state.statistics.breakerOpenings += 1
                    self.logger.warning("Circuit breaker opened: Mode is failing", metadata: ["cooldown": "\(self.settings.breakerCooldown)"])
                }
            } else {
                state.breaker.recordSuccess()
            }
            // Mode's rate headers: when it says the budget is spent, let nothing go until it refills.
            guard case .success(let upstream) = response, let pause = RateLimitHeaders.pause(upstream) else { return nil }
            let bounded = min(pause, self.settings.retry.maxRetryAfter)
            state.bucket.pause(until: now + bounded)
            return bounded
        }
    }

    private func retryDelay(attempt: Int, outcome: Result<UpstreamResponse, UpstreamFailure>) -> Duration? {
        var retryAfter: Duration?
        if case .success(let response) = outcome, let seconds = UpstreamStatus.retryAfterSeconds(response.headers) {
            retryAfter = .seconds(seconds)
        }
        return self.state.withLock { state in
            self.settings.retry.delay(beforeRetry: attempt, retryAfter: retryAfter, random: &state.random)
        }
    }

    static func seconds(_ duration: Duration) -> Int {
        max(1, Int(duration.components.seconds) + (duration.components.attoseconds > 0 ? 1 : 0))
    }
}

/// Mode's `X-RateLimit-*` headers (and `Retry-After` on a 429): how long to hold off.
enum RateLimitHeaders {
    static func pause(_ response: UpstreamResponse) -> Duration? {
        if response.status.code == 429 {
            return .seconds(UpstreamStatus.retryAfterSeconds(response.headers) ?? 1)
        }
        guard let remainingText = response.headers[.xRateLimitRemaining], let remaining = Double(remainingText), remaining < 1 else {
            return nil
        }
        guard let resetText = response.headers[.xRateLimitReset], let reset = Double(resetText), reset > 0 else {
            return .seconds(1)
        }
        // A small number is seconds from now; a large one an epoch time, which this clock cannot place: wait a second.
        return reset < 1_000_000 ? .milliseconds(Int64(reset * 1000)) : .seconds(1)
    }
}

extension HTTPField.Name {
    static let xRateLimitRemaining = Self("X-RateLimit-Remaining")!
    static let xRateLimitReset = Self("X-RateLimit-Reset")!
}
