/// When and after how long a failed upstream call is tried again.
public struct RetryPolicy: Sendable, Equatable {
    /// Attempts in all, the first included.
    public var maxAttempts = 3
    /// The first backoff's ceiling; each retry doubles it, up to `maxDelay`.
    public var baseDelay: Duration = .milliseconds(200)
    public var maxDelay: Duration = .seconds(5)
    /// The longest `Retry-After` honoured; a longer one ends the retries.
    public var maxRetryAfter: Duration = .seconds(10)

    public init() {}

    /// The wait before retry number `retry` (1 for the first retry): Mode's `Retry-After` when it
    /// gave one, else exponential backoff with full jitter. Nil when no retry should be made.
    func delay(beforeRetry retry: Int, retryAfter: Duration?, random: inout some RandomNumberGenerator) -> Duration? {
        guard retry < self.maxAttempts else { return nil }
        if let retryAfter {
            return retryAfter <= self.maxRetryAfter ? retryAfter : nil
        }
        let ceiling = min(self.maxDelay, self.baseDelay * (1 << min(retry - 1, 30)))
        let nanoseconds = ceiling.components.seconds * 1_000_000_000 + ceiling.components.attoseconds / 1_000_000_000
        return .nanoseconds(Int64.random(in: 0...max(0, nanoseconds), using: &random))
    }
}
