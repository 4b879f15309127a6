import AsyncHTTPClient
import Configuration
import Foundation
import Hummingbird
import Logging
import ModeSimulator
import ServiceLifecycle

/// The `mode-gateway` program: reads configuration, then runs the gateway, or the gateway on the
/// built-in simulator with `--demo`.
public enum GatewayCommand {
    /// Exit status for a configuration error (sysexits' EX_CONFIG).
    public static let configurationErrorStatus: Int32 = 78

    public static func main(arguments: [String] = CommandLine.arguments) async -> Int32 {
        if arguments.count > 1, arguments[1] == "hash-key" {
            return Self.hashKey(arguments: Array(arguments.dropFirst(2)))
        }
        if arguments.count > 1, arguments[1] == "healthcheck" {
            return await Self.healthcheck()
        }
        if arguments.count > 1, arguments[1] == "routes" {
            // The README's routes table, from the route table.
            FileHandle.standardOutput.write(Data(SpecBuilder.markdownTable().utf8))
            return 0
        }
        if arguments.count > 1, arguments[1] == "openapi" {
            // The document the gateway serves, for `openapi/openapi.yaml` (a test holds the file to it).
            do {
                FileHandle.standardOutput.write(Data(String(buffer: try SpecDocument.load().yaml).utf8))
                return 0
            } catch {
                FileHandle.standardError.write(Data("mode-gateway: \(error)\n".utf8))
                return 1
            }
        }
        do {
            let reader = try await Self.configReader(arguments: arguments)
            let parse = ConfigParser(reader: reader)
            let demo = try arguments.dropFirst().contains("--demo") || (parse.bool("demo") ?? false)
            if demo {
                return try await Self.runDemo(arguments: arguments)
            }
            let configuration = try GatewayConfiguration(reader: reader)
            let logger = Self.makeLogger(configuration)
            try await Self.run(try buildApplication(configuration: configuration, logger: logger), configuration: configuration, logger: logger)
            return 0
        } catch let error as ConfigurationError {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            return Self.configurationErrorStatus
        } catch {
            FileHandle.standardError.write(Data("mode-gateway: \(error)\n".utf8))
            return 1
        }
    }

    /// Command line first, then the environment, then `.env` in the working directory.
    static func configReader(arguments: [String], demoOverrides: [AbsoluteConfigKey: ConfigValue] = [:]) async throws -> ConfigReader {
        var providers: [any ConfigProvider] = []
        if !demoOverrides.isEmpty { providers.append(InMemoryProvider(name: "demo", values: demoOverrides)) }
        providers.append(CommandLineArgumentsProvider(arguments: arguments))
        providers.append(EnvironmentVariablesProvider())
        do {
            providers.append(try await EnvironmentVariablesProvider(environmentFilePath: ".env", allowMissing: true))
        } catch {
            throw ConfigurationError(key: "env.file", reason: "(.env in the working directory) cannot be read: \(error)")
        }
        return ConfigReader(providers: providers)
    }

    /// Runs the simulator and the gateway in this process, with throwaway credentials, and
    /// prints curl commands that work against it.
    static func runDemo(arguments: [String]) async throws -> Int32 {
        let workspace = "demo"
        // Throwaway credentials from the system's random source (request ids are predictable).
        let token = KeyStore.generateKey()
        let secret = KeyStore.generateKey()
        var simulatorConfiguration = SimulatorConfiguration(workspace: workspace, token: token, secret: secret)
        simulatorConfiguration.rateLimit = .mode
        var simulatorLogger = Logger(label: "mode-simulator")
        simulatorLogger.logLevel = .warning
        let simulator = try await RunningSimulator.start(
            ModeSimulator(configuration: simulatorConfiguration),
            logger: simulatorLogger
        )
        let demoReader = try await Self.configReader(
            arguments: arguments,
            demoOverrides: [
                "mode.workspace": .init(.string(workspace), isSecret: false),
                "mode.api.token": .init(.string(token), isSecret: true),
                "mode.api.secret": .init(.string(secret), isSecret: true),
                "mode.api.url": .init(.string(simulator.baseURL), isSecret: false),
            ]
        )
        let configuration = try GatewayConfiguration(reader: demoReader)
        let logger = Self.makeLogger(configuration)
        let app = try buildApplication(configuration: configuration, logger: logger) { port in
            let banner = Self.demoBanner(host: configuration.host, port: port, simulatorURL: simulator.baseURL)
            switch configuration.logFormat {
            case .text: FileHandle.standardOutput.write(Data((banner + "\n").utf8))
            case .json: logger.notice("demo", metadata: ["curl_examples": "\(banner)"])
            }
        }
        do {
            try await Self.run(app, configuration: configuration, logger: logger)
        } catch {
            await simulator.stop()
            throw error
        }
        await simulator.stop()
        return 0
    }

    static func demoBanner(host: String, port: Int, simulatorURL: String) -> String {
        let base = "http://\(host == "0.0.0.0" ? "127.0.0.1" : host):\(port)"
        return """
            mode-gateway demo: the gateway listens on \(base), in front of the built-in Mode simulator at \(simulatorURL).
            Try:
              curl -s \(base)/datasets/ds0001
              curl -s \(base)/spaces/sp-finance/datasets
              curl -s '\(base)/collections/sp-growth/datasets?order=desc&order_by=updated_at'
              curl -s '\(base)/data_sources/ds-warehouse/datasets?filter=created_at.gt.2024-01-01T00:00:00Z'
              curl -s \(base)/datasets/ds0001/schedules
              curl -s -X PATCH \(base)/datasets/ds0001 -H 'Content-Type: application/json' -d '{"name": "Renamed in the demo"}'
              curl -s \(base)/datasets/not.a.token
            Data (rows of the latest successful run; runs you can wait on; retry-safe run POSTs):
              curl -s \(base)/datasets/ds0001/results
              curl -s '\(base)/datasets/ds0001/results?format=csv'
              curl -s -H 'Accept: application/x-ndjson' \(base)/reports/rp-sales/queries/q-sales-orders/results
              curl -s \(base)/reports/rp-sales/results
              curl -s -X POST '\(base)/reports/rp-sales/runs?wait=30' -H 'Idempotency-Key: demo-1' -d '{"parameters": {"rows": 3}}'
              curl -s -X POST '\(base)/reports/rp-sales/runs?wait=30' -H 'Idempotency-Key: demo-1' -d '{"parameters": {"rows": 3}}'   # the same run again
              curl -s \(base)/reports/rp-never/results
            Stop with Ctrl-C.
            """
    }

    /// `mode-gateway hash-key --scope S --name N`: prints a new key and its keys-file line.
    static func hashKey(arguments: [String]) -> Int32 {
        var scope: Scope?
        var name: String?
        var index = 0
        while index < arguments.count {
            let value = index + 1 < arguments.count ? arguments[index + 1] : nil
            switch arguments[index] {
            case "--scope": scope = value.flatMap(Scope.init(rawValue:))
            case "--name": name = value
            default:
                scope = nil
                index = arguments.count
            }
            index += 2
        }
        guard let scope, let name, (try? KeyStore(parsing: KeyStore.line(forKey: "x", scope: scope, name: name))) != nil else {
            FileHandle.standardError.write(
                Data("usage: mode-gateway hash-key --scope read|write|admin --name NAME (NAME: printable ASCII, no spaces)\n".utf8)
            )
            return 64
        }
        let key = KeyStore.generateKey()
        print("key (give it to the client; it is not stored): \(key)")
        print("line for GATEWAY_API_KEYS_FILE:")
        print(KeyStore.line(forKey: key, scope: scope, name: name))
        return 0
    }

    /// Runs until SIGTERM or SIGINT, then shuts down gracefully: the server stops accepting,
    /// in-flight requests get `shutdown.grace.seconds` to finish, then the upstream client closes.
    static func run(_ app: some ApplicationProtocol, configuration: GatewayConfiguration, logger: Logger) async throws {
        var groupConfiguration = ServiceGroupConfiguration(
            services: [app],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
        groupConfiguration.maximumGracefulShutdownDuration = configuration.shutdownGrace
        try await ServiceGroup(configuration: groupConfiguration).run()
        logger.notice("mode-gateway stopped")
    }

    /// Bootstraps swift-log once for the process, in the configured format and level.
    static func makeLogger(_ configuration: GatewayConfiguration) -> Logger {
        let format = configuration.logFormat
        let level = configuration.logLevel
        LoggingSystem.bootstrap { label in
            var handler = LineLogHandler(label: label, format: format)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "mode-gateway")
        logger.logLevel = level
        return logger
    }
}

extension GatewayCommand {
    /// `mode-gateway healthcheck`: exits 0 when the gateway on this machine answers `/healthz`;
    /// for the container's HEALTHCHECK, where no curl is installed.
    static func healthcheck(environment: [String: String] = ProcessInfo.processInfo.environment) async -> Int32 {
        let port = environment["HTTP_PORT"] ?? "8080"
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            let response = try await client.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/healthz"), timeout: .seconds(3))
            try await client.shutdown()
            return response.status == .ok ? 0 : 1
        } catch {
            try? await client.shutdown()
            return 1
        }
    }
}
