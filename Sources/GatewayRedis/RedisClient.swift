import Logging
import Synchronization

/// A Redis client for the gateway: one pipelined command connection, kept open in the
/// background with reconnection and jittered backoff.
///
/// Commands never wait for a connection: while none is up they fail at once with
/// ``RedisError/notConnected``, and every command is bounded by `commandTimeout`, so a dead or
/// slow Redis costs a request at most that long. Callers decide what to do instead.
public final class RedisClient: Sendable {
    public struct Settings: Sendable {
        public var endpoint: RedisEndpoint
        /// The bound on one command, from writing it to its reply.
        public var commandTimeout: Duration = .milliseconds(200)
        /// The bound on opening a connection and saying `HELLO`.
        public var connectTimeout: Duration = .seconds(2)
        /// Backoff between connection attempts: doubling from `minBackoff`, capped, with jitter.
        public var minBackoff: Duration = .milliseconds(100)
        public var maxBackoff: Duration = .seconds(5)
        /// The name Redis shows for the connection (`CLIENT LIST`).
        public var clientName = "mode-gateway"
        public var maxBulkLength = 512 * 1024 * 1024

        public init(endpoint: RedisEndpoint) {
            self.endpoint = endpoint
        }
    }

    /// How a command went, for metrics: its name, how long it took, and whether it failed.
    public typealias Observer = @Sendable (_ command: String, _ duration: Duration, _ failed: Bool) -> Void

    private struct State {
        var connection: RedisConnection?
        var onConnect: [@Sendable () async -> Void] = []
        var everConnected = false
        var lastError: String?
    }

    public let settings: Settings
    private let state = Mutex(State())
    private let logger: Logger
    private let observe: Observer

    public init(settings: Settings, logger: Logger, observe: @escaping Observer = { _, _, _ in }) {
        self.settings = settings
        self.logger = logger
        self.observe = observe
    }

    /// Whether a connection is up now.
    public var isConnected: Bool { self.state.withLock { $0.connection?.isActive ?? false } }
    /// Whether a connection has ever been made since start.
    public var hasConnected: Bool { self.state.withLock { $0.everConnected } }
    /// Why the last connection attempt failed, if it did; never holds the password.
    public var lastError: String? { self.state.withLock { $0.lastError } }

    /// Runs `action` after each new connection is made, before the connection is counted as up
    /// for anyone else's commands to rely on its results (for replaying writes that failed).
    public func whenConnected(_ action: @escaping @Sendable () async -> Void) {
        self.state.withLock { $0.onConnect.append(action) }
    }

    /// Keeps a connection open until the task is cancelled.
    public func run() async {
        var failures = 0
        while !Task.isCancelled {
            do {
                let connection = try await RedisConnection.connect(
                    to: self.settings.endpoint,
                    timeout: self.settings.connectTimeout,
                    clientName: self.settings.clientName,
                    maxBulkLength: self.settings.maxBulkLength
                )
                let hooks = self.state.withLock { state in
                    state.connection = connection
                    state.everConnected = true
                    state.lastError = nil
                    return state.onConnect
                }
                if failures > 0 {
                    self.logger.notice("Reconnected to Redis", metadata: ["redis": "\(self.settings.endpoint.description)"])
                }
                failures = 0
                for hook in hooks { await hook() }
                await withTaskCancellationHandler {
                    await connection.closed()
                } onCancel: {
                    connection.close()
                }
                self.state.withLock { state in
                    if state.connection === connection { state.connection = nil }
                }
                if Task.isCancelled { return }
                self.logger.warning("Lost the connection to Redis", metadata: ["redis": "\(self.settings.endpoint.description)"])
            } catch {
                // Connection errors name an address at most; Redis's own replies were cut to their
                // error class when the connection was made, so no password is quoted.
                let reason = (error as? RedisError)?.description ?? String(String(describing: error).prefix(200))
                self.state.withLock { $0.lastError = reason }
                if failures == 0 {
                    self.logger.warning(
                        "Cannot reach Redis",
                        metadata: ["redis": "\(self.settings.endpoint.description)", "reason": "\(reason)"]
                    )
                }
            }
            failures += 1
            try? await Task.sleep(for: Self.backoff(failures: failures, settings: self.settings))
        }
    }

    /// Doubling from the minimum, capped, then a random part of it: "full jitter", so replicas
    /// that lost Redis together do not all come back in the same instant.
    static func backoff(failures: Int, settings: Settings) -> Duration {
        let exponent = min(failures - 1, 16)
        let ceiling = min(settings.maxBackoff, settings.minBackoff * (1 << exponent))
        let nanoseconds = Int64(ceiling.components.seconds) * 1_000_000_000 + ceiling.components.attoseconds / 1_000_000_000
        return .nanoseconds(nanoseconds / 2 + Int64.random(in: 0...max(1, nanoseconds / 2)))
    }

    /// Sends one command; fails at once when no connection is up.
    public func send(_ arguments: [RedisArgument]) async throws(RedisError) -> RESP3Value {
        guard let connection = self.state.withLock({ $0.connection }), connection.isActive else {
            self.observe(Self.name(arguments), .zero, true)
            throw .notConnected
        }
        let started = ContinuousClock.now
        do {
            let reply = try await connection.send(arguments, timeout: self.settings.commandTimeout)
            self.observe(Self.name(arguments), ContinuousClock.now - started, false)
            return reply
        } catch {
            self.observe(Self.name(arguments), ContinuousClock.now - started, true)
            if error == .timedOut {
                self.logger.warning("Redis did not answer in time; reconnecting", metadata: ["command": "\(Self.name(arguments))"])
            }
            throw error
        }
    }

    /// Runs a script by its digest, sending its source only when Redis does not have it (after a
    /// restart, a failover or `SCRIPT FLUSH`).
    public func evaluate(_ script: RedisScript, keys: [String], arguments: [RedisArgument]) async throws(RedisError) -> RESP3Value {
        let tail: [RedisArgument] = [.string(String(keys.count))] + keys.map { .string($0) } + arguments
        do {
            return try await self.send(["EVALSHA", .string(script.sha1)] + tail)
        } catch .server(let message) where message.hasPrefix("NOSCRIPT") {
            return try await self.send(["EVAL", .string(script.source)] + tail)
        }
    }

    private static func name(_ arguments: [RedisArgument]) -> String {
        if case .string(let name) = arguments.first { return name }
        return "?"
    }
}

/// A Lua script and its SHA-1, which `EVALSHA` names it by.
public struct RedisScript: Sendable {
    public let source: String
    public let sha1: String

    public init(_ source: String) {
        self.source = source
        self.sha1 = SHA1.hex(Array(source.utf8))
    }
}
