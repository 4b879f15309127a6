import Foundation
import GatewayRedis
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// A real `redis-server` on loopback, on a free port, for one test: started with no persistence
/// and with `DEBUG` allowed, so tests can stop, pause, slow and restart it.
final class RedisServer: Sendable {
    let port: Int
    /// Extra `redis-server` arguments, such as `--requirepass`.
    let extraArguments: [String]
    private let process = Mutex<Process?>(nil)

    /// The `redis-server` binary: on PATH, or where Debian puts it.
    static var binary: URL? {
        let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init) + ["/usr/bin", "/usr/local/bin"]
        return paths.map { URL(fileURLWithPath: $0).appendingPathComponent("redis-server") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    private init(port: Int, extraArguments: [String]) {
        self.port = port
        self.extraArguments = extraArguments
    }

    /// Starts a server and waits until it answers.
    static func start(_ extraArguments: [String] = []) async throws -> RedisServer {
        let server = RedisServer(port: try await Self.freePort(), extraArguments: extraArguments)
        try await server.launch()
        return server
    }

    private func launch() async throws {
        let binary = try #require(Self.binary, "redis-server is needed for the scale-out tests: apt-get install redis-server")
        let process = Process()
        process.executableURL = binary
        process.arguments =
            [
                "--port", String(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--enable-debug-command", "local", "--loglevel", "warning",
            ] + self.extraArguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process.withLock { $0 = process }
        for _ in 0..<200 {
            do {
                try await self.command(["PING"])
                return
            } catch RedisError.server {
                return  // up, and asking for a password
            } catch {}
            try await Task.sleep(for: .milliseconds(25))
        }
        Issue.record("redis-server did not start on port \(self.port)")
    }

    /// Stops the server for good. SIGKILL: a child of this process may inherit a mask that
    /// blocks SIGTERM (signal handling in the tests' own services), and Redis keeps no data here.
    func stop() {
        guard let process = self.process.withLock({ $0 }) else { return }
        kill(process.processIdentifier, SIGKILL)
        for _ in 0..<500 where process.isRunning { usleep(10_000) }
        self.process.withLock { $0 = nil }
    }

    /// Stops the server and starts a new, empty one on the same port.
    func restart() async throws {
        self.stop()
        try await self.launch()
    }

    /// Freezes the process (SIGSTOP) or lets it go on (SIGCONT): a Redis that holds connections
    /// open and answers nothing.
    func freeze() { self.signal(SIGSTOP) }
    func thaw() { self.signal(SIGCONT) }

    private func signal(_ signal: Int32) {
        if let process = self.process.withLock({ $0 }) { kill(process.processIdentifier, signal) }
    }

    /// Sends one command on a connection of its own.
    @discardableResult
    func command(_ arguments: [String], timeout: Duration = .seconds(5)) async throws -> RESP3Value {
        let connection = try await RedisConnection.connect(
            to: RedisEndpoint(host: "127.0.0.1", port: self.port),
            timeout: timeout,
            clientName: "test"
        )
        defer { connection.close() }
        return try await connection.send(arguments.map { .string($0) }, timeout: timeout)
    }

    deinit {
        if let process = self.process.withLock({ $0 }), process.isRunning {
            kill(process.processIdentifier, SIGKILL)
        }
    }

    /// A port nothing listens on now: bound once by the kernel's choice, then released.
    static func freePort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0)
            .get()
        let port = channel.localAddress?.port ?? 0
        try await channel.close()
        return port
    }
}
