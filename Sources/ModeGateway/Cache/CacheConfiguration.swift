import Foundation

/// The cache's settings, read from `CACHE_*` (see the README).
public struct CacheConfiguration: Sendable, Equatable {
    /// `cache.max.bytes`: the bound on the total size of all entries.
    public var maxBytes = 64 * 1024 * 1024
    /// `cache.max.entry.percent`: an answer larger than this share of `maxBytes` is served, not stored.
    public var maxEntryPercent = 25
    /// `cache.ttl.seconds`: how long an answer is fresh; 0 turns the cache off.
    public var ttl: Duration = .seconds(60)
    /// `cache.route.ttls`: per-route freshness, as `operationId=seconds` pairs separated by commas.
    public var routeTTLs: [String: Duration] = [:]
    /// `cache.stale.while.revalidate.seconds`: after expiry, how long the old answer is served at
    /// once while one background refresh runs.
    public var staleWhileRevalidate: Duration = .seconds(30)
    /// `cache.stale.if.error.seconds`: after expiry, how long the old answer may stand in for a
    /// failed refresh (Mode down, 5xx, timeout, rate limited).
    public var staleIfError: Duration = .seconds(3600)

    public init() {}

    var maxEntryBytes: Int { self.maxBytes / 100 * self.maxEntryPercent }

    /// The policy of one route.
    func policy(for route: RouteSpec) -> CachePolicy {
        CachePolicy(
            ttl: self.routeTTLs[route.operationID] ?? self.ttl,
            staleWhileRevalidate: self.staleWhileRevalidate,
            staleIfError: self.staleIfError
        )
    }

    init(parser parse: ConfigParser) throws(ConfigurationError) {
        self.maxBytes = try parse.int("cache.max.bytes", in: 0...(1 << 40)) ?? self.maxBytes
        self.maxEntryPercent = try parse.int("cache.max.entry.percent", in: 1...100) ?? self.maxEntryPercent
        self.ttl = try parse.seconds("cache.ttl.seconds", allowZero: true) ?? self.ttl
        self.staleWhileRevalidate = try parse.seconds("cache.stale.while.revalidate.seconds", allowZero: true) ?? self.staleWhileRevalidate
        self.staleIfError = try parse.seconds("cache.stale.if.error.seconds", allowZero: true) ?? self.staleIfError
        if let text = parse.string("cache.route.ttls") {
            let known = Set(RouteTable.modeRoutes.filter(\.isCachedRead).map(\.operationID))
            for pair in text.split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2, known.contains(parts[0]), let seconds = Double(parts[1]), seconds >= 0, seconds <= 86_400 else {
                    throw ConfigurationError(
                        key: "cache.route.ttls",
                        reason:
                            "must be operationId=seconds pairs separated by commas, with operationId one of \(known.sorted().joined(separator: ", "))."
                    )
                }
                self.routeTTLs[parts[0]] = .milliseconds(Int64((seconds * 1000).rounded()))
            }
        }
    }
}
