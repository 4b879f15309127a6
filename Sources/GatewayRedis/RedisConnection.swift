import Logging
import NIOCore
import NIOPosix

/// Where Redis is and how to log in: parsed from `redis://[user@]host:port[/db]`.
public struct RedisEndpoint: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var host: String
    public var port: Int
    public var username: String?
    /// Kept out of every description, log line and error.
    public var password: String?
    public var database: Int

    public init(host: String, port: Int = 6379, username: String? = nil, password: String? = nil, database: Int = 0) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
    }

    /// Parses a `redis://` URL. A password in the URL is refused: it belongs in
    /// `REDIS_PASSWORD` or `REDIS_PASSWORD_FILE`, where it is kept out of logs.
    public init?(url: String) {
        guard url.hasPrefix("redis://") else { return nil }
        var rest = Substring(url.dropFirst("redis://".count))
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            if !path.isEmpty {
                guard let number = Int(path), (0...15).contains(number) else { return nil }
                database = number
            }
            rest = rest[..<slash]
        }
        var username: String?
        if let at = rest.lastIndex(of: "@") {
            let user = rest[..<at]
            guard !user.contains(":") else { return nil }
            username = user.isEmpty ? nil : String(user)
            rest = rest[rest.index(after: at)...]
        }
        var host = rest
        var port = 6379
        if let colon = rest.lastIndex(of: ":"), !rest.hasSuffix("]") {
            guard let number = Int(rest[rest.index(after: colon)...]), (1...65535).contains(number) else { return nil }
            port = number
            host = rest[..<colon]
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        guard !host.isEmpty, host.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
        self.init(host: String(host), port: port, username: username, database: database)
    }

    /// `host:port/db`, never the password.
    public var description: String { "\(self.host):\(self.port)/\(self.database)" }
    public var debugDescription: String { self.description }
    /// `dump` and test failures show this too: never the password.
    public var customMirror: Mirror { Mirror(self, children: ["endpoint": self.description]) }
}

/// One open connection to Redis that has said `HELLO 3`: commands are pipelined over it.
public final class RedisConnection: Sendable {
    let channel: any Channel

    private init(channel: any Channel) {
        self.channel = channel
    }

    /// Opens a connection, switches it to RESP3, logs in and selects the database.
    /// - Parameters:
    ///   - onPush: told of every push frame (pub/sub messages), on the connection's event loop.
    public static func connect(
        to endpoint: RedisEndpoint,
        timeout: Duration,
        clientName: String,
        maxBulkLength: Int = 512 * 1024 * 1024,
        onPush: @escaping @Sendable ([RESP3Value]) -> Void = { _ in }
    ) async throws -> RedisConnection {
        let parser = RESP3Parser(maxBulkLength: maxBulkLength)
        // ClientBootstrap sets TCP_NODELAY already (a level-SOL_SOCKET "tcp_nodelay" would be SO_DEBUG,
        // which a non-root container may not set).
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RedisChannelHandler(parser: parser, onPush: onPush))
                }
            }
            .connect(host: endpoint.host, port: endpoint.port)
            .get()
        let connection = RedisConnection(channel: channel)
        do {
            var hello: [RedisArgument] = ["HELLO", "3"]
            if let password = endpoint.password {
                hello += ["AUTH", .string(endpoint.username ?? "default"), .string(password)]
            }
            hello += ["SETNAME", .string(clientName)]
            _ = try await connection.send(hello, timeout: timeout)
            if endpoint.database != 0 {
                _ = try await connection.send(["SELECT", .string(String(endpoint.database))], timeout: timeout)
            }
        } catch {
            connection.close()
            // Redis's own words may quote the command; only its error class is kept.
            if case RedisError.server(let message) = error {
                throw RedisError.server(String(message.prefix { $0 != " " }))
            }
            throw error
        }
        return connection
    }

    /// Sends one command and waits for its reply. An error reply throws ``RedisError/server(_:)``.
    public func send(_ arguments: [RedisArgument], timeout: Duration) async throws(RedisError) -> RESP3Value {
        let reply: RESP3Value
        do {
            reply = try await self.sendNoThrowOnError(arguments, timeout: timeout)
        } catch let error as RedisError {
            throw error
        } catch {
            throw .connectionClosed
        }
        if case .error(let message) = reply { throw .server(message) }
        return reply
    }

    private func sendNoThrowOnError(_ arguments: [RedisArgument], timeout: Duration) async throws -> RESP3Value {
        var bytes = self.channel.allocator.buffer(capacity: 64)
        RESP3Command.encode(arguments, into: &bytes)
        let promise = self.channel.eventLoop.makePromise(of: RESP3Value.self)
        let amount = TimeAmount.nanoseconds(
            Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
        )
        // A write to a connection that has closed never reaches the handler, which would have
        // failed the answer: fail it here instead (a second failure of a promise is ignored).
        let written = self.channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenFailure { _ in promise.fail(RedisError.connectionClosed) }
        self.channel.writeAndFlush(RedisRequest(bytes: bytes, promise: promise, timeout: amount), promise: written)
        return try await promise.futureResult.get()
    }

    /// Sends a command whose answer arrives as push frames (`SUBSCRIBE`).
    func sendExpectingPush(_ arguments: [RedisArgument]) {
        var bytes = self.channel.allocator.buffer(capacity: 64)
        RESP3Command.encode(arguments, into: &bytes)
        self.channel.writeAndFlush(RedisRequest(bytes: bytes, promise: nil, timeout: .zero), promise: nil)
    }

    public var isActive: Bool { self.channel.isActive }

    /// Completes when the connection has closed, for whatever reason.
    public func closed() async {
        try? await self.channel.closeFuture.get()
    }

    public func close() {
        self.channel.close(promise: nil)
    }
}
