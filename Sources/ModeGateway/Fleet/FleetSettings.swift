import GatewayRedis

/// `redis.*` and `gateway.replicas`: how replicas share state. Without `REDIS_URL` there is no
/// fleet: one replica keeps everything in process.
public struct FleetSettings: Sendable {
    /// `redis.url` (with `redis.password` or `redis.password.file` for AUTH).
    public var endpoint: RedisEndpoint
    /// `redis.key.prefix`: every key lives under `{prefix}:`, one hash slot.
    public var keyPrefix = "mgw"
    /// `redis.timeout.milliseconds`: the bound on each Redis command.
    public var commandTimeout: Duration = .milliseconds(200)
    /// `gateway.replicas`: how many replicas share Mode's budget; while Redis is unreachable each
    /// takes this share of the fleet's rate on its own.
    public var replicas = 1
    /// How long a cold read's fill lock lives without renewal: a replica that dies holding one
    /// keeps the others waiting at most this long.
    public var lockTTL: Duration = .seconds(2)
    /// The longest a cold read waits for another replica's fill before it gives up: as long as a
    /// fill may take (`MODE_TIMEOUT_SECONDS`, and a slot per page of the longest list; set when
    /// the gateway is built).
    public var fillWait: Duration = .seconds(30)
    /// The largest answer kept in Redis (the L1 cache's own bound, set when the gateway is
    /// built): a larger one would be slow to read back within the command timeout, and a
    /// timeout closes the connection every other command shares.
    public var maxEntryBytes = 1 << 20

    public init(endpoint: RedisEndpoint) {
        self.endpoint = endpoint
    }

    init?(parser: ConfigParser) throws(ConfigurationError) {
        guard let url = parser.string("redis.url") else { return nil }
        guard var endpoint = RedisEndpoint(url: url) else {
            throw ConfigurationError(
                key: "redis.url",
                reason: "must be redis://[user@]host[:port][/db] (the password goes in REDIS_PASSWORD or REDIS_PASSWORD_FILE)."
            )
        }
        endpoint.password = try parser.optionalSecret("redis.password")
        self.init(endpoint: endpoint)
        if let prefix = parser.string("redis.key.prefix") {
            guard prefix.utf8.count <= 64, prefix.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "{") && $0 != UInt8(ascii: "}") })
            else {
                throw ConfigurationError(key: "redis.key.prefix", reason: "must be up to 64 printable characters, without braces.")
            }
            self.keyPrefix = prefix
        }
        if let milliseconds = try parser.int("redis.timeout.milliseconds", in: 1...60_000) {
            self.commandTimeout = .milliseconds(milliseconds)
        }
        self.replicas = try parser.int("gateway.replicas", in: 1...1000) ?? 1
    }
}
