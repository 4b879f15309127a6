import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import ModeGateway
import ModeSimulator
import NIOCore
import NIOHTTP1

/// A gateway and a simulator on loopback, for end-to-end tests over real sockets.
struct GatewayHarness {
    static let token = "test-token-\(UUID().uuidString)"
    static let secret = "test-secret-\(UUID().uuidString)"

    let simulator: RunningSimulator
    let gatewayPort: Int
    let client: HTTPClient

    var control: SimulatorControl { self.simulator.simulator.control }
    var baseURL: String { "http://127.0.0.1:\(self.gatewayPort)" }

    /// A response as the client saw it.
    struct Reply {
        var status: Int
        var headers: HTTPHeaders
        var body: String
        var json: Any? { try? JSONSerialization.jsonObject(with: Data(self.body.utf8), options: [.fragmentsAllowed]) }
        var object: [String: Any] { self.json as? [String: Any] ?? [:] }
    }

    /// Runs `body` with a fresh simulator and a gateway in front of it.
    /// - Parameters:
    ///   - configure: changes to the gateway's configuration (its URL and credentials are set already).
    ///   - upstreamURL: overrides the simulator's URL, to point the gateway somewhere else.
    static func with(
        time: TimeSource = .system,
        configure: (inout GatewayConfiguration) -> Void = { _ in },
        upstreamURL: ((RunningSimulator) async throws -> String)? = nil,
        _ body: (GatewayHarness) async throws -> Void
    ) async throws {
        var quiet = Logger(label: "test")
        quiet.logLevel = .critical
        let simulator = try await RunningSimulator.start(
            ModeSimulator(configuration: .init(workspace: "demo", token: Self.token, secret: Self.secret)),
            logger: quiet
        )
        var configuration = GatewayConfiguration(
            workspace: "demo",
            credentials: ModeCredentials(token: Self.token, secret: Self.secret)
        )
        configuration.port = 0
        configuration.modeURL = try await upstreamURL?(simulator) ?? simulator.baseURL
        configuration.upstreamTimeout = .seconds(5)
        configure(&configuration)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = buildApplication(configuration: configuration, logger: quiet, time: time) { port in
            continuation.yield(port)
            continuation.finish()
        }
        let server = Task { try await app.run() }
        var iterator = ports.makeAsyncIterator()
        let port = await iterator.next() ?? 0
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let harness = GatewayHarness(simulator: simulator, gatewayPort: port, client: client)
        do {
            try await body(harness)
        } catch {
            await harness.shutdown(server)
            throw error
        }
        await harness.shutdown(server)
    }

    private func shutdown(_ server: Task<Void, any Error>) async {
        try? await self.client.shutdown()
        server.cancel()
        _ = try? await server.value
        await self.simulator.stop()
    }

    /// Sends a request to the gateway. `path` goes on the wire as given.
    func send(
        _ method: HTTPMethod = .GET,
        _ path: String,
        headers: [(String, String)] = [],
        body: String? = nil
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: self.baseURL + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.body = .bytes(ByteBuffer(string: body))
            if !headers.contains(where: { $0.0.lowercased() == "content-type" }) {
                request.headers.add(name: "Content-Type", value: "application/json")
            }
        }
        let response = try await self.client.execute(request, timeout: .seconds(30))
        let buffer = try await response.body.collect(upTo: 64 << 20)
        return Reply(status: Int(response.status.code), headers: response.headers, body: String(buffer: buffer))
    }

    func get(_ path: String, headers: [(String, String)] = []) async throws -> Reply {
        try await self.send(.GET, path, headers: headers)
    }
}
