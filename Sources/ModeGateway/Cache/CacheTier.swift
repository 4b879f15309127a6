/// The cache's second tier, shared by replicas, and the epochs that keep every replica from
/// serving what a write made wrong. ``Fleet`` is the one implementation, on Redis.
protocol CacheTier: Sendable {
    /// The current epochs of everything that can drop an entry (the whole cache, its path, its
    /// tags) as one stamp; nil when they cannot be read now.
    func stamp(path: String, tags: [String]) async -> String?

    /// The answer for a key already versioned by its stamp: the shared copy while it is fresh,
    /// another replica's fill, or `load` under the key's fill lock, stored for the others.
    func fill(
        _ versionedKey: String,
        policy: CachePolicy,
        revalidate: Bool,
        load: @escaping ResponseCache.Loader
    ) async throws(GatewayError) -> ResponseCache.Loaded

    /// Moves the epochs of `tags`, so every entry carrying one is old on every replica.
    func invalidate(tags: [String]) async

    /// Moves the epoch of the whole cache, or of one upstream path.
    func purge(path: String?) async
}

extension CachePolicy {
    /// How long an entry can be of any use: the shared tier keeps it this long.
    var horizon: Duration { self.ttl + max(self.staleWhileRevalidate, self.staleIfError) }
}
