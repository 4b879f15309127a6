import Synchronization

/// What happened while serving one request, written by the stages that know and read by the
/// request log and metrics. A reference, so that inner stages' notes reach outer middleware.
public final class RequestTrace: Sendable {
    public struct Facts: Sendable {
        /// The route template, such as `/datasets/{dataset}`; never the raw path.
        public var route: String?
        /// `HIT`, `MISS`, `STALE` or `BYPASS`, when the cache took part.
        public var cacheStatus: String?
        /// How many calls went to Mode, and the status of the last.
        public var upstreamCalls = 0
        public var lastUpstreamStatus: Int?
        /// The name of the client's key, never the key.
        public var clientName: String?
        /// Whether a list was cut short by the deadline or the budget, so it is not cached.
        public var listCutShort = false
        /// Who the client is for per-client state: `key:<name>`, or `address:<ip>` when the gateway runs open.
        public var clientIdentity: String?
        /// Whether the client asked with HEAD (the routes see GET; see ``HeadResponder``).
        public var isHead = false
    }

    private let facts = Mutex(Facts())

    public init() {}

    public var snapshot: Facts { self.facts.withLock { $0 } }

    public func update(_ body: (inout Facts) -> Void) {
        self.facts.withLock { body(&$0) }
    }
}
