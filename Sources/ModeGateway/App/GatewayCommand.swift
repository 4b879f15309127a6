import Configuration
import Foundation
import Hummingbird
import Logging
import ModeSimulator

/// The `mode-gateway` program: reads configuration, then runs the gateway, or the gateway on the
/// built-in simulator with `--demo`.
public enum GatewayCommand {
    /// Exit status for a configuration error (sysexits' EX_CONFIG).
    public static let configurationErrorStatus: Int32 = 78

    public static func main(arguments: [String] = CommandLine.arguments) async -> Int32 {
        do {
            let reader = try await Self.configReader(arguments: arguments)
            let parse = ConfigParser(reader: reader)
            let demo = try arguments.dropFirst().contains("--demo") || (parse.bool("demo") ?? false)
            if demo {
                return try await Self.runDemo(arguments: arguments)
            }
            let configuration = try GatewayConfiguration(reader: reader)
            let logger = Self.makeLogger(configuration)
            try await buildApplication(configuration: configuration, logger: logger).runService()
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
        let token = RequestIDMiddleware.generate()
        let secret = RequestIDMiddleware.generate()
        var simulatorLogger = Logger(label: "mode-simulator")
        simulatorLogger.logLevel = .warning
        let simulator = try await RunningSimulator.start(
            ModeSimulator(configuration: .init(workspace: workspace, token: token, secret: secret)),
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
        let app = buildApplication(configuration: configuration, logger: logger) { port in
            print(Self.demoBanner(host: configuration.host, port: port, simulatorURL: simulator.baseURL))
        }
        do {
            try await app.runService()
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
            Stop with Ctrl-C.
            """
    }

    static func makeLogger(_ configuration: GatewayConfiguration) -> Logger {
        var logger = Logger(label: "mode-gateway")
        logger.logLevel = configuration.logLevel
        return logger
    }
}
