/// The circuit breaker's state machine: it says whether a call may go to Mode, and learns from
/// each outcome. Pure: the caller passes the time. After `threshold` consecutive failures it
/// opens for `cooldown`; then one probe is let through (half-open), whose outcome closes or
/// reopens it.
struct CircuitBreaker: Sendable, Equatable {
    enum State: Equatable {
        case closed(consecutiveFailures: Int)
        case open(until: Duration)
        case halfOpen
    }

    /// What the caller may do now.
    enum Permission: Equatable {
        case allowed
        /// The one probe of the half-open state: its outcome decides.
        case probe
        case rejected(retryAfter: Duration)
    }

    let threshold: Int
    let cooldown: Duration
    private(set) var state: State = .closed(consecutiveFailures: 0)

    init(threshold: Int, cooldown: Duration) {
        self.threshold = threshold
        self.cooldown = cooldown
    }

    mutating func acquire(now: Duration) -> Permission {
        switch self.state {
        case .closed:
            return .allowed
        case .open(let until):
            guard now >= until else { return .rejected(retryAfter: until - now) }
            self.state = .halfOpen
            return .probe
        case .halfOpen:
            // A probe is out; everyone else waits for its outcome.
            return .rejected(retryAfter: self.cooldown)
        }
    }

    /// A success closes the breaker, unless it is open: then it is a late answer to a call made
    /// before it opened, and only the probe may decide.
    mutating func recordSuccess() {
        if case .open = self.state { return }
        self.state = .closed(consecutiveFailures: 0)
    }

    mutating func recordFailure(now: Duration) {
        switch self.state {
        case .closed(let failures):
            self.state = failures + 1 >= self.threshold ? .open(until: now + self.cooldown) : .closed(consecutiveFailures: failures + 1)
        case .halfOpen, .open:
            self.state = .open(until: now + self.cooldown)
        }
    }

    /// A probe that ended without telling anything about Mode (cancelled): let another try.
    mutating func releaseProbe(now: Duration) {
        if self.state == .halfOpen { self.state = .open(until: now) }
    }
}
