import HTTPTypes

/// Mode's rate limit as the simulator enforces it: a leaky bucket per API user. Each request
/// adds one; the bucket drains at a steady rate; a request that would overflow it is refused
/// with 429. Every answer carries `X-RateLimit-Limit`, `-Remaining` and `-Reset`.
public struct LeakyBucket: Sendable {
    public struct Limit: Sendable, Equatable {
        public var capacity: Int
        public var leakPerSecond: Double

        public init(capacity: Int, leakPerSecond: Double) {
            self.capacity = capacity
            self.leakPerSecond = leakPerSecond
        }

        /// About Mode's: 40 requests per 10 seconds, in short bursts.
        public static let mode = Limit(capacity: 10, leakPerSecond: 4)
    }

    /// What metering one request decided.
    public struct Verdict: Sendable {
        public var rejected: Bool
        public var remaining: Int
        /// Seconds until the bucket is empty.
        public var resetSeconds: Double
        public var limit: Int

        var headers: HTTPFields {
            [
                HTTPField.Name("X-RateLimit-Limit")!: String(self.limit),
                HTTPField.Name("X-RateLimit-Remaining")!: String(self.remaining),
                HTTPField.Name("X-RateLimit-Reset")!: String(Int(self.resetSeconds.rounded(.up))),
            ]
        }
    }

    let limit: Limit
    private var level = 0.0
    private var lastLeak: ContinuousClock.Instant?

    init(limit: Limit) {
        self.limit = limit
    }

    mutating func meter(now: ContinuousClock.Instant) -> Verdict {
        if let lastLeak {
            let elapsed = now - lastLeak
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            self.level = max(0, self.level - seconds * self.limit.leakPerSecond)
        }
        self.lastLeak = now
        let rejected = self.level + 1 > Double(self.limit.capacity) + 1e-9
        if !rejected { self.level += 1 }
        return Verdict(
            rejected: rejected,
            remaining: max(0, Int((Double(self.limit.capacity) - self.level).rounded(.down))),
            resetSeconds: self.level / self.limit.leakPerSecond,
            limit: self.limit.capacity
        )
    }
}
