/// A token bucket in its GCRA form: one number (the theoretical arrival time) says when the
/// bucket will be full again. Pure: the caller passes the time and does any waiting.
struct TokenBucket: Sendable, Equatable {
    /// What a request may do.
    enum Reservation: Equatable {
        /// Go after waiting this long (zero: at once). The token is already taken.
        case granted(wait: Duration)
        /// The wait would pass the bound; nothing was taken. Try again after this long.
        case rejected(retryAfter: Duration)
    }

    /// The time between two tokens.
    let interval: Duration
    /// How far ahead of the steady rate a burst may run.
    let burstWindow: Duration
    private var theoreticalArrival: Duration = .zero

    init(ratePerSecond: Double, burst: Int) {
        self.interval = .nanoseconds(Int64(1_000_000_000 / ratePerSecond))
        self.burstWindow = self.interval * max(1, burst)
    }

    /// Takes a token if one is free now or within `maxWait`.
    mutating func reserve(now: Duration, maxWait: Duration) -> Reservation {
        let wait = self.delay(now: now)
        if wait > maxWait { return .rejected(retryAfter: wait) }
        self.theoreticalArrival = max(self.theoreticalArrival, now) + self.interval
        return .granted(wait: wait)
    }

    /// How long the next token is away, without taking it.
    func delay(now: Duration) -> Duration {
        max(.zero, max(self.theoreticalArrival, now) + self.interval - now - self.burstWindow)
    }

    /// Lets no request go before `instant` (Mode said to slow down).
    mutating func pause(until instant: Duration) {
        self.theoreticalArrival = max(self.theoreticalArrival, instant + self.burstWindow - self.interval)
    }
}
