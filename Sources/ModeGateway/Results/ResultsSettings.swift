/// How rows of finished runs are served: `RESULTS_*` and the run settings (see the README).
public struct ResultsSettings: Sendable, Equatable {
    /// `results.cache.ttl.seconds`: how long a run's rows stay cached. A run's rows never change.
    public var cacheTTL: Duration = .seconds(86_400)
    /// `results.cache.max.bytes`: the rows cache's own byte budget, apart from the metadata cache.
    public var cacheMaxBytes = 256 * 1024 * 1024
    /// `results.max.bytes`: the most bytes of rows one answer may carry.
    public var maxBytes = 1 << 30
    /// `run.wait.max.seconds`: the longest `?wait=` a client may ask for.
    public var maxRunWait: Duration = .seconds(60)
    /// `idempotency.ttl.seconds`: how long an `Idempotency-Key`'s answer is kept.
    public var idempotencyTTL: Duration = .seconds(86_400)

    public init() {}

    /// Rows larger than this are served but not stored.
    var cacheMaxEntryBytes: Int { self.cacheMaxBytes / 4 }

    init(parser parse: ConfigParser) throws(ConfigurationError) {
        self.cacheTTL = try parse.seconds("results.cache.ttl.seconds", allowZero: true) ?? self.cacheTTL
        self.cacheMaxBytes = try parse.int("results.cache.max.bytes", in: 0...(1 << 40)) ?? self.cacheMaxBytes
        self.maxBytes = try parse.int("results.max.bytes", in: 1024...(1 << 42)) ?? self.maxBytes
        if let wait = try parse.int("run.wait.max.seconds", in: 0...3600) { self.maxRunWait = .seconds(wait) }
        self.idempotencyTTL = try parse.seconds("idempotency.ttl.seconds") ?? self.idempotencyTTL
    }
}
