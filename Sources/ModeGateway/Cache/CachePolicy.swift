/// How long an entry is served, and how it is served once old.
///
/// An entry's life: **fresh** until `ttl`; then **stale** for `staleWhileRevalidate`, served at
/// once while one background refresh runs; then **expired**, when a read waits for Mode, but may
/// still be served (marked `STALE`) if Mode fails, until it is `staleIfError` old.
public struct CachePolicy: Sendable, Equatable {
    public var ttl: Duration
    public var staleWhileRevalidate: Duration
    public var staleIfError: Duration

    public init(ttl: Duration, staleWhileRevalidate: Duration, staleIfError: Duration) {
        self.ttl = ttl
        self.staleWhileRevalidate = staleWhileRevalidate
        self.staleIfError = staleIfError
    }

    /// Whether this policy caches at all.
    public var isEnabled: Bool { self.ttl > .zero }

    /// Where an entry of this age stands.
    func freshness(age: Duration) -> Freshness {
        if age < self.ttl { return .fresh(remaining: self.ttl - age) }
        if age < self.ttl + self.staleWhileRevalidate { return .staleWhileRevalidate }
        if age <= self.ttl + self.staleIfError { return .expiredButUsableOnError }
        return .unusable
    }
}

/// The state of a cache entry at one instant.
enum Freshness: Equatable {
    case fresh(remaining: Duration)
    case staleWhileRevalidate
    case expiredButUsableOnError
    case unusable
}
