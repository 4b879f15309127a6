import AsyncHTTPClient
import Foundation
import GatewayRedis
import HTTPTypes
import Hummingbird
import Logging
import ModeGateway
import ModeSimulator
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

/// A gateway and a simulator on loopback, for end-to-end tests over real sockets.
///
/// Every harness also records all the gateway's answers and log lines, and fails its test if
/// any holds a secret: the Mode token or secret (also as basic auth) or a client key.
struct GatewayHarness {
    static let token = "test-token-\(UUID().uuidString)"
    static let secret = "test-secret-\(UUID().uuidString)"

    /// Client keys the access tests use, one per scope.
    enum Keys {
        static let read = "mgw_read_\(UUID().uuidString)"
        static let write = "mgw_write_\(UUID().uuidString)"
        static let admin = "mgw_admin_\(UUID().uuidString)"
        static var store: KeyStore {
            // swift-format-ignore: NeverUseForceTry
            try! KeyStore(
                parsing: [
                    KeyStore.line(forKey: read, scope: .read, name: "reader"),
                    KeyStore.line(forKey: write, scope: .write, name: "writer"),
                    KeyStore.line(forKey: admin, scope: .admin, name: "operator"),
                ].joined(separator: "\n")
            )
        }
    }

    /// Everything that must never appear in an answer or a log line.
    static var secrets: [String] {
        [Self.token, Self.secret, Data("\(Self.token):\(Self.secret)".utf8).base64EncodedString(), Keys.read, Keys.write, Keys.admin]
    }

    let simulator: RunningSimulator
    let gatewayPort: Int
    /// Every replica's port, when the harness runs several; the first is `gatewayPort`.
    var gatewayPorts: [Int] = []
    let client: HTTPClient
    let traffic: TrafficRecorder

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
    ///   - replicas: how many gateways to run in front of the one simulator.
    ///   - redis: the Redis they share, under a key prefix of their own.
    static func with(
        time: TimeSource = .system,
        replicas: Int = 1,
        redis: RedisServer? = nil,
        configure: (inout GatewayConfiguration) -> Void = { _ in },
        upstreamURL: ((RunningSimulator) async throws -> String)? = nil,
        simulatorRateLimit: LeakyBucket.Limit? = nil,
        simulator configureSimulator: (inout SimulatorConfiguration) -> Void = { _ in },
        _ body: (GatewayHarness) async throws -> Void
    ) async throws {
        var quiet = Logger(label: "test")
        quiet.logLevel = .critical
        let traffic = TrafficRecorder()
        var gatewayLogger = Logger(label: "mode-gateway") { label in
            LineLogHandler(label: label, format: .text, sink: LineSink { traffic.record(log: $0) })
        }
        gatewayLogger.logLevel = .trace
        var simulatorConfiguration = SimulatorConfiguration(workspace: "demo", token: Self.token, secret: Self.secret)
        simulatorConfiguration.rateLimit = simulatorRateLimit
        configureSimulator(&simulatorConfiguration)
        let simulator = try await RunningSimulator.start(
            ModeSimulator(configuration: simulatorConfiguration),
            logger: quiet
        )
        var configuration = GatewayConfiguration(
            workspace: "demo",
            credentials: ModeCredentials(token: Self.token, secret: Self.secret)
        )
        configuration.port = 0
        configuration.modeURL = try await upstreamURL?(simulator) ?? simulator.baseURL
        configuration.upstreamTimeout = .seconds(5)
        // Tests that are not about resilience must not be slowed or tripped by it.
        configuration.upstream.ratePerSecond = 10_000
        configuration.upstream.burst = 10_000
        configuration.upstream.retry.baseDelay = .milliseconds(5)
        configuration.upstream.retry.maxDelay = .milliseconds(20)
        configuration.upstream.breakerThreshold = 1_000
        configuration.clientRatePerSecond = 100_000
        configuration.clientBurst = 100_000
        configuration.clientModeRatePerSecond = 100_000
        configuration.clientModeBurst = 100_000
        if let redis {
            var fleet = FleetSettings(endpoint: RedisEndpoint(host: "127.0.0.1", port: redis.port))
            fleet.keyPrefix = "test-\(UUID().uuidString.prefix(8))"
            fleet.replicas = replicas
            configuration.fleet = fleet
        }
        configure(&configuration)
        var servers: [Task<Void, any Error>] = []
        var gatewayPorts: [Int] = []
        for _ in 0..<replicas {
            let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
            let app = try buildApplication(configuration: configuration, logger: gatewayLogger, time: time) { port in
                continuation.yield(port)
                continuation.finish()
            }
            servers.append(Task { try await app.run() })
            var iterator = ports.makeAsyncIterator()
            gatewayPorts.append(await iterator.next() ?? 0)
        }
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        var harness = GatewayHarness(simulator: simulator, gatewayPort: gatewayPorts[0], client: client, traffic: traffic)
        harness.gatewayPorts = gatewayPorts
        do {
            if redis != nil {
                // Ready once each replica has reached Redis.
                for index in 0..<replicas {
                    var ready = false
                    for _ in 0..<200 where !ready {
                        ready = try await harness.replica(index).get("/readyz").status == 200
                        if !ready { try await Task.sleep(for: .milliseconds(25)) }
                    }
                    try #require(ready, "replica \(index) never reached Redis")
                }
            }
            try await body(harness)
        } catch {
            await harness.shutdown(servers)
            throw error
        }
        await harness.shutdown(servers)
        for leak in traffic.leaks(of: Self.secrets) {
            Issue.record("A secret leaked: \(leak)")
        }
    }

    private func shutdown(_ servers: [Task<Void, any Error>]) async {
        try? await self.client.shutdown()
        for server in servers {
            server.cancel()
            _ = try? await server.value
        }
        await self.simulator.stop()
    }

    /// The same harness, talking to replica `index`.
    func replica(_ index: Int) -> GatewayHarness {
        var copy = GatewayHarness(simulator: self.simulator, gatewayPort: self.gatewayPorts[index], client: self.client, traffic: self.traffic)
        copy.gatewayPorts = self.gatewayPorts
        return copy
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
        let reply = Reply(status: Int(response.status.code), headers: response.headers, body: String(buffer: buffer))
        self.traffic.record(reply)
        return reply
    }

    func get(_ path: String, headers: [(String, String)] = []) async throws -> Reply {
        try await self.send(.GET, path, headers: headers)
    }
}

/// Keeps what crossed the gateway in one harness: answers and log lines.
final class TrafficRecorder: Sendable {
    private let texts = Mutex<[String]>([])

    func record(_ reply: GatewayHarness.Reply) {
        let headers = reply.headers.map { "\($0.name): \($0.value)" }.joined(separator: "\n")
        self.texts.withLock { $0.append("answer \(reply.status)\n\(headers)\n\n\(reply.body)") }
    }

    func record(log line: String) {
        self.texts.withLock { $0.append("log " + line) }
    }

    var logLines: [String] { self.texts.withLock { $0.filter { $0.hasPrefix("log ") } } }

    /// Descriptions of every recorded text that contains one of `secrets`.
    func leaks(of secrets: [String]) -> [String] {
        self.texts.withLock { texts in
            texts.compactMap { text in
                secrets.first(where: { text.contains($0) }).map { _ in String(text.prefix(300)) }
            }
        }
    }
}
