import Foundation
import GatewayRedis
import Logging
import NIOCore
import Synchronization
import Testing

/// The RESP3 client against a real `redis-server`.
@Suite("Redis client")
struct RedisClientTests {
    static func client(_ server: RedisServer, timeout: Duration = .milliseconds(300), password: String? = nil) -> RedisClient {
        var settings = RedisClient.Settings(endpoint: RedisEndpoint(host: "127.0.0.1", port: server.port, password: password))
        settings.commandTimeout = timeout
        settings.minBackoff = .milliseconds(20)
        settings.maxBackoff = .milliseconds(200)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return RedisClient(settings: settings, logger: logger)
    }

    /// Runs `body` with the client connected, then stops it.
    static func running(_ client: RedisClient, _ body: () async throws -> Void) async throws {
        let task = Task { await client.run() }
        defer { task.cancel() }
        try await Self.until { client.isConnected }
        try await body()
    }

    static func until(_ condition: () -> Bool) async throws {
        for _ in 0..<400 where !condition() { try await Task.sleep(for: .milliseconds(10)) }
        try #require(condition())
    }

    @Test("1,000 pipelined commands from concurrent tasks each get their own reply")
    func pipelining() async throws {
        let server = try await RedisServer.start()
        defer { server.stop() }
        let client = Self.client(server, timeout: .seconds(5))
        try await Self.running(client) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<1000 {
                    group.addTask {
                        let reply = try await client.send(["ECHO", .string("value \(index)")])
                        #expect(reply.string == "value \(index)")
                    }
                }
                try await group.waitForAll()
            }
            let big = ByteBuffer(repeating: UInt8(ascii: "x"), count: 3 << 20)
            _ = try await client.send(["SET", "big", .bytes(big)])
            #expect(try await client.send(["GET", "big"]) == .bulkString(big))
        }
    }

    @Test("a command past its deadline fails, closes the connection (replies go by position), and the client reconnects")
    func timeoutClosesTheConnection() async throws {
        let server = try await RedisServer.start()
        defer { server.stop() }
        let client = Self.client(server, timeout: .milliseconds(200))
        try await Self.running(client) {
            // Redis busy for a second, from a connection that is open before the clock starts.
            let busy = try await RedisConnection.connect(
                to: RedisEndpoint(host: "127.0.0.1", port: server.port),
                timeout: .seconds(5),
                clientName: "busy"
            )
            defer { busy.close() }
            let sleeper = Task { try await busy.send(["DEBUG", "SLEEP", "1"], timeout: .seconds(5)) }
            try await Task.sleep(for: .milliseconds(100))
            let started = ContinuousClock.now
            await #expect(throws: RedisError.timedOut) { try await client.send(["PING"]) }
            #expect(ContinuousClock.now - started < .milliseconds(900))
            // While the connection is being made again, commands fail at once rather than wait.
            await #expect(throws: RedisError.self) { try await client.send(["PING"]) }
            _ = try await sleeper.value
            try await Self.until { client.isConnected }
            #expect(try await client.send(["PING"]) == .simpleString("PONG"))
        }
    }

    @Test("EVALSHA falls back to EVAL when Redis lost its scripts")
    func scriptFallback() async throws {
        let server = try await RedisServer.start()
        defer { server.stop() }
        let client = Self.client(server)
        let script = RedisScript("return ARGV[1] .. KEYS[1]")
        try await Self.running(client) {
            #expect(try await client.evaluate(script, keys: ["k"], arguments: ["v-"]).string == "v-k")
            try await server.command(["SCRIPT", "FLUSH"])
            #expect(try await client.evaluate(script, keys: ["k"], arguments: ["w-"]).string == "w-k")
            #expect(try await client.send(["SCRIPT", "EXISTS", .string(script.sha1)]) == .array([.integer(1)]))
        }
    }

    @Test("a restarted Redis is reconnected to by itself")
    func reconnects() async throws {
        let server = try await RedisServer.start()
        defer { server.stop() }
        let client = Self.client(server)
        try await Self.running(client) {
            try await server.restart()
            try await Self.until { client.isConnected }
            #expect(try await client.send(["PING"]) == .simpleString("PONG"))
        }
    }

    @Test("the subscriber gets messages, and subscribes again after its connection is killed")
    func subscriber() async throws {
        let server = try await RedisServer.start()
        defer { server.stop() }
        let received = Mutex<[String]>([])
        var settings = RedisClient.Settings(endpoint: RedisEndpoint(host: "127.0.0.1", port: server.port))
        settings.minBackoff = .milliseconds(20)
        let subscriber = RedisSubscriber(settings: settings, channels: ["news"], pingInterval: .milliseconds(200), logger: Logger(label: "test")) {
            _,
            payload in received.withLock { $0.append(payload) }
        }
        let task = Task { await subscriber.run() }
        defer { task.cancel() }
        try await Self.until { subscriber.isSubscribed }
        try await server.command(["PUBLISH", "news", "one"])
        try await Self.until { received.withLock { $0 } == ["one"] }
        try await server.command(["CLIENT", "KILL", "TYPE", "pubsub"])
        for _ in 0..<200 {
            let listeners = try await server.command(["PUBLISH", "news", "two"]).integer ?? 0
            if listeners > 0 { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        try await Self.until { received.withLock { $0.contains("two") } }
    }

    @Test("a wrong password fails the connection, and no error names it")
    func password() async throws {
        let secret = "redis-secret-\(UUID().uuidString)"
        let server = try await RedisServer.start(["--requirepass", secret])
        defer { server.stop() }
        let wrong = Self.client(server, password: "not-\(secret)")
        let task = Task { await wrong.run() }
        defer { task.cancel() }
        try await Self.until { wrong.lastError != nil }
        #expect(!wrong.isConnected)
        #expect(wrong.lastError?.contains(secret) == false)
        #expect(wrong.lastError?.contains("not-") == false)
        let right = Self.client(server, password: secret)
        try await Self.running(right) {
            let pong = try await right.send(["PING"])
            #expect(pong == .simpleString("PONG"))
        }
    }
}
