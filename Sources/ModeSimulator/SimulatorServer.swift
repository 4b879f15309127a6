import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// A simulator listening on a real socket in this process, for tests and `--demo`.
public struct RunningSimulator: Sendable {
    public let simulator: ModeSimulator
    /// The port it listens on (on 127.0.0.1).
    public let port: Int
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    /// The base URL to give the gateway as `MODE_API_URL`.
    public var baseURL: String { "http://127.0.0.1:\(self.port)/api" }

    /// Starts a simulator on a free loopback port (or `port`) and returns once it listens.
    public static func start(
        _ simulator: ModeSimulator,
        host: String = "127.0.0.1",
        port: Int = 0,
        logger: Logger = Logger(label: "mode-simulator")
    ) async throws -> RunningSimulator {
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: simulator.buildRouter(),
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in
                continuation.yield(channel.localAddress?.port ?? 0)
                continuation.finish()
            },
            logger: logger
        )
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let task = Task {
            defer { continuation.finish() }
            try await group.run()
        }
        var iterator = ports.makeAsyncIterator()
        guard let bound = await iterator.next() else {
            _ = try await task.value
            throw SimulatorStartError()
        }
        return RunningSimulator(simulator: simulator, port: bound, group: group, task: task)
    }

    /// Stops listening, lets requests in flight finish, and waits until the server is down.
    public func stop() async {
        await self.group.triggerGracefulShutdown()
        _ = try? await self.task.value
    }
}

/// The simulator stopped before it listened (the port is taken, most likely).
public struct SimulatorStartError: Error, CustomStringConvertible {
    public var description: String { "the Mode simulator could not start listening" }
}
