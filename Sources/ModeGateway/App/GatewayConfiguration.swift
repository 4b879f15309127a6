import Configuration
import Foundation
import Logging

/// A configuration value that is missing or wrong. Its description is the one line the program
/// prints before it exits, naming the environment variable.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    public var key: String
    public var reason: String

    /// The environment variable for a dotted key: `mode.api.token` is `MODE_API_TOKEN`.
    public var variable: String { self.key.uppercased().replacingOccurrences(of: ".", with: "_") }
    public var description: String { "configuration error: \(self.variable) \(self.reason)" }
}

/// Everything the gateway reads from its configuration, checked once at start.
///
/// Each setting has one key: `mode.api.url` is `MODE_API_URL` in the environment, `--mode-api-url`
/// on the command line, and `MODE_API_URL=` in a `.env` file. The README lists them all.
public struct GatewayConfiguration: Sendable {
    /// `http.host`: the address to listen on.
    public var host = "127.0.0.1"
    /// `http.port`: the port to listen on (0 picks a free one).
    public var port = 8080
    /// `mode.workspace`: the Mode workspace every route reads.
    public var workspace: String
    /// `mode.api.token`, `mode.api.secret` (or `…_file` variants): the operator's Mode credentials.
    public var credentials: ModeCredentials
    /// `mode.api.url`: Mode's API base URL.
    public var modeURL = "https://app.mode.com/api"
    /// `mode.timeout.seconds`: the deadline for all the upstream work of one client request,
    /// retries and waits included; a whole list gets one slot of Mode's budget more per page.
    public var upstreamTimeout: Duration = .seconds(30)
    /// `mode.connect.timeout.seconds`: the deadline for opening a connection to Mode.
    public var connectTimeout: Duration = .seconds(5)
    /// `mode.max.pages`: the most pages read to complete one list.
    public var maxPages = 200
    /// `mode.max.response.bytes`: the largest single answer accepted from Mode.
    public var maxResponseBytes = 32 * 1024 * 1024
    /// `log.level`: trace, debug, info, notice, warning, error or critical.
    public var logLevel: Logger.Level = .info
    /// `log.format`: `text` or `json` (one JSON object per line).
    public var logFormat: LogFormat = .text
    /// `readiness.interval.seconds`: how often `/readyz` may ask Mode.
    public var readinessInterval: Duration = .seconds(10)
    /// `readiness.requires.mode`: whether `/readyz` answers 503 while Mode is unreachable or
    /// refuses the credentials (by default Mode's state is only reported).
    public var readinessRequiresMode = false
    /// `shutdown.grace.seconds`: how long in-flight requests may run after SIGTERM.
    public var shutdownGrace: Duration = .seconds(25)
    /// `http.idle.timeout.seconds`: a client connection idle this long is closed.
    public var clientIdleTimeout: Duration = .seconds(60)
    /// `http.header.timeout.seconds`: a connection's first request head must arrive in full
    /// within this of the connection opening (after an answer, the idle timeout applies).
    public var headerTimeout: Duration = .seconds(20)
    /// `http.body.timeout.seconds`: a request body must arrive in full within this of its head.
    public var bodyTimeout: Duration = .seconds(30)
    /// `http.max.connections`: client connections open at once; past it new ones are closed.
    public var maxConnections = 1024
    /// `cache.*`: the response cache.
    public var cache = CacheConfiguration()
    /// `results.*`, `run.wait.max.seconds`, `idempotency.ttl.seconds`: rows, runs and idempotency keys.
    public var results = ResultsSettings()
    /// `gateway.api.keys.file`: the client keys; nil runs the gateway open.
    public var keys: KeyStore?
    /// `gateway.allow.anonymous`: let the gateway run open on a non-loopback address.
    public var allowAnonymous = false
    /// `gateway.fast.hits`: answer fresh cache hits on the event loop, before the router. The
    /// answers are the same either way; off is for comparing the two paths. Without effect when
    /// replicas share a cache through Redis (a hit then needs the epochs from Redis).
    public var fastHits = true
    /// `gateway.allowed.hosts`: when the gateway runs open, the `Host` names it answers to,
    /// separated by commas (`*` for any); by default the listen address, localhost and 127.0.0.1.
    public var allowedHosts: [String]?
    /// `gateway.key.rate.limit.per.second` and `.burst`: each client's flood cap, on every
    /// request, cache hits included.
    public var clientRatePerSecond = 200.0
    public var clientBurst = 400
    /// `gateway.key.mode.rate.per.second` and `.burst`: each client's share of Mode: its
    /// requests that reach Mode (misses, `no-cache` reads, writes, runs, rows not cached).
    public var clientModeRatePerSecond = 2.0
    public var clientModeBurst = 10
    /// `mode.rate.limit.*`, `mode.retry.*`, `mode.breaker.*`: protection of Mode and of the gateway.
    public var upstream = UpstreamExecutor.Settings()
    /// `redis.*`, `gateway.replicas`: state shared by replicas through Redis; nil keeps it in process.
    public var fleet: FleetSettings?

    public init(workspace: String, credentials: ModeCredentials) {
        self.workspace = workspace
        self.credentials = credentials
    }

    /// Reads and checks every setting; the first problem is thrown, naming its variable.
    public init(reader: ConfigReader) throws(ConfigurationError) {
        let parse = ConfigParser(reader: reader)
        let workspace = try parse.required("mode.workspace")
        guard Token.isValid(workspace) else {
            throw ConfigurationError(key: "mode.workspace", reason: "must be a Mode workspace name (letters, digits, '_' and '-').")
        }
        let token = try parse.secret("mode.api.token")
        let secret = try parse.secret("mode.api.secret")
        self.init(workspace: workspace, credentials: ModeCredentials(token: token, secret: secret))
        self.host = parse.string("http.host") ?? self.host
        self.port = try parse.int("http.port", in: 0...65535) ?? self.port
        if let url = parse.string("mode.api.url") {
            guard UpstreamConnections.Origin(url: url) != nil else {
                throw ConfigurationError(key: "mode.api.url", reason: UpstreamConnections.Origin.requirement)
            }
            self.modeURL = url
        }
        self.upstreamTimeout = try parse.seconds("mode.timeout.seconds") ?? self.upstreamTimeout
        self.connectTimeout = try parse.seconds("mode.connect.timeout.seconds") ?? self.connectTimeout
        self.maxPages = try parse.int("mode.max.pages", in: 1...10_000) ?? self.maxPages
        self.maxResponseBytes = try parse.int("mode.max.response.bytes", in: 1024...(1 << 30)) ?? self.maxResponseBytes
        if let level = parse.string("log.level") {
            guard let parsed = Logger.Level(rawValue: level.lowercased()) else {
                throw ConfigurationError(key: "log.level", reason: "must be one of trace, debug, info, notice, warning, error, critical.")
            }
            self.logLevel = parsed
        }
        if let format = parse.string("log.format") {
            guard let parsed = LogFormat(rawValue: format.lowercased()) else {
                throw ConfigurationError(key: "log.format", reason: "must be text or json.")
            }
            self.logFormat = parsed
        }
        self.readinessInterval = try parse.seconds("readiness.interval.seconds", allowZero: true) ?? self.readinessInterval
        self.readinessRequiresMode = try parse.bool("readiness.requires.mode") ?? false
        self.shutdownGrace = try parse.seconds("shutdown.grace.seconds") ?? self.shutdownGrace
        self.clientIdleTimeout = try parse.seconds("http.idle.timeout.seconds") ?? self.clientIdleTimeout
        self.headerTimeout = try parse.seconds("http.header.timeout.seconds") ?? self.headerTimeout
        self.bodyTimeout = try parse.seconds("http.body.timeout.seconds") ?? self.bodyTimeout
        self.maxConnections = try parse.int("http.max.connections", in: 1...1_000_000) ?? self.maxConnections
        self.cache = try CacheConfiguration(parser: parse)
        self.results = try ResultsSettings(parser: parse)
        self.upstream = try UpstreamExecutor.Settings(parser: parse)
        self.fleet = try FleetSettings(parser: parse)
        if let path = parse.string("gateway.api.keys.file") {
            guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
                throw ConfigurationError(key: "gateway.api.keys.file", reason: "names a file that cannot be read.")
            }
            do {
                self.keys = try KeyStore(parsing: text)
            } catch {
                throw ConfigurationError(key: "gateway.api.keys.file", reason: "is malformed: \(error)")
            }
        }
        self.allowAnonymous = try parse.bool("gateway.allow.anonymous") ?? false
        self.fastHits = try parse.bool("gateway.fast.hits") ?? true
        if let hosts = parse.string("gateway.allowed.hosts") {
            let names = hosts.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty }
            guard !names.isEmpty, names.allSatisfy({ $0 == "*" || $0.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") } }) else {
                throw ConfigurationError(key: "gateway.allowed.hosts", reason: "must be host names separated by commas, or *.")
            }
            self.allowedHosts = names
        }
        self.clientRatePerSecond = try parse.rate("gateway.key.rate.limit.per.second") ?? self.clientRatePerSecond
        self.clientBurst = try parse.int("gateway.key.rate.limit.burst", in: 1...1_000_000) ?? self.clientBurst
        self.clientModeRatePerSecond = try parse.rate("gateway.key.mode.rate.per.second") ?? self.clientModeRatePerSecond
        self.clientModeBurst = try parse.int("gateway.key.mode.burst", in: 1...1_000_000) ?? self.clientModeBurst
        try self.checkExposure()
    }

    /// The `Host` names an open gateway answers to; nil for any.
    var effectiveAllowedHosts: Set<String>? {
        let names = self.allowedHosts ?? [self.host.lowercased(), "localhost", "127.0.0.1", "::1"]
        // Entries are read as Host headers are: `localhost:8080` and `[::1]` name localhost and ::1.
        return names.contains("*") ? nil : Set(names.map(AccessGate.hostName))
    }

    /// Whether `host` only accepts connections from this machine.
    public var listensOnLoopbackOnly: Bool {
        ["127.0.0.1", "::1", "localhost"].contains(self.host) || self.host.hasPrefix("127.")
    }

    /// An open gateway on a reachable address would hand the operator's Mode credentials to
    /// anyone on the network: refuse, unless the operator says so.
    func checkExposure() throws(ConfigurationError) {
        if self.keys == nil, !self.listensOnLoopbackOnly, !self.allowAnonymous {
            throw ConfigurationError(
                key: "gateway.allow.anonymous",
                reason:
                    "must be true to listen on \(self.host) without GATEWAY_API_KEYS_FILE: anyone who can reach it could use the Mode credentials."
            )
        }
    }
}

/// Reads raw strings from a `ConfigReader` and turns them into checked values, so that every
/// error names the variable and says what is expected.
struct ConfigParser {
    let reader: ConfigReader

    func string(_ key: String) -> String? {
        guard let value = self.reader.string(forKey: ConfigKey(key)), !value.isEmpty else { return nil }
        return value
    }

    func required(_ key: String) throws(ConfigurationError) -> String {
        guard let value = self.string(key) else { throw ConfigurationError(key: key, reason: "is required.") }
        return value
    }

    /// A secret, given directly or through `<key>.file` (for Docker secrets). Never logged.
    func secret(_ key: String) throws(ConfigurationError) -> String {
        if let value = self.reader.string(forKey: ConfigKey(key), isSecret: true), !value.isEmpty {
            return value
        }
        let fileKey = key + ".file"
        guard let path = self.string(fileKey) else {
            throw ConfigurationError(key: key, reason: "is required (or set \(ConfigurationError(key: fileKey, reason: "").variable)).")
        }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ConfigurationError(key: fileKey, reason: "names a file that cannot be read.")
        }
        let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !value.isEmpty else { throw ConfigurationError(key: fileKey, reason: "names an empty file.") }
        return value
    }

    /// A secret that may be left out, given directly or through `<key>.file`.
    func optionalSecret(_ key: String) throws(ConfigurationError) -> String? {
        if let value = self.reader.string(forKey: ConfigKey(key), isSecret: true), !value.isEmpty { return value }
        guard self.string(key + ".file") != nil else { return nil }
        return try self.secret(key)
    }

    func int(_ key: String, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
        guard let text = self.string(key) else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw ConfigurationError(key: key, reason: "must be a whole number from \(range.lowerBound) to \(range.upperBound).")
        }
        return value
    }

    /// A rate in requests per second, above 0 and at most `limit`.
    func rate(_ key: String, limit: Double = 1_000_000) throws(ConfigurationError) -> Double? {
        guard let text = self.string(key) else { return nil }
        guard let value = Double(text), value > 0, value <= limit else {
            throw ConfigurationError(key: key, reason: "must be a number of requests per second above 0, at most \(Int(limit)).")
        }
        return value
    }

    func bool(_ key: String) throws(ConfigurationError) -> Bool? {
        guard let text = self.string(key) else { return nil }
        switch text.lowercased() {
        case "true", "1", "yes": return true
        case "false", "0", "no": return false
        default: throw ConfigurationError(key: key, reason: "must be true or false.")
        }
    }

    func seconds(_ key: String, allowZero: Bool = false) throws(ConfigurationError) -> Duration? {
        guard let text = self.string(key) else { return nil }
        guard let value = Double(text), value.isFinite, allowZero ? value >= 0 : value > 0, value <= 86_400 else {
            throw ConfigurationError(key: key, reason: "must be a number of seconds\(allowZero ? "" : " above 0"), at most 86400.")
        }
        return .milliseconds(Int64((value * 1000).rounded()))
    }
}
