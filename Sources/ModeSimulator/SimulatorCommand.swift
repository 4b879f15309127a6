import Foundation
import Hummingbird
import Logging

/// The `mode-simulator` program: the Mode stand-in on its own, for compose and benchmarks.
///
/// Settings come from the environment: `SIMULATOR_HOST` (127.0.0.1), `SIMULATOR_PORT` (9090),
/// `SIMULATOR_WORKSPACE` (demo), `SIMULATOR_TOKEN` and `SIMULATOR_SECRET` (the credentials it
/// accepts; `demo-token` and `demo-secret` unless set), `SIMULATOR_DATASETS` (104) and
/// `SIMULATOR_RATE_LIMIT` (`off` turns Mode's leaky bucket off; it is on by default) and
/// `SIMULATOR_RUN_SECONDS` (3: how long a new run takes).
public enum SimulatorCommand {
    public static func main(environment: [String: String] = ProcessInfo.processInfo.environment) async -> Int32 {
        let host = environment["SIMULATOR_HOST"] ?? "127.0.0.1"
        guard let port = Int(environment["SIMULATOR_PORT"] ?? "9090"), (0...65535).contains(port),
            let datasetCount = Int(environment["SIMULATOR_DATASETS"] ?? "104"), (0...1_000_000).contains(datasetCount)
        else {
            FileHandle.standardError.write(Data("mode-simulator: SIMULATOR_PORT and SIMULATOR_DATASETS must be whole numbers\n".utf8))
            return 78
        }
        let workspace = environment["SIMULATOR_WORKSPACE"] ?? "demo"
        var configuration = SimulatorConfiguration(
            workspace: workspace,
            token: environment["SIMULATOR_TOKEN"] ?? "demo-token",
            secret: environment["SIMULATOR_SECRET"] ?? "demo-secret"
        )
        if let text = environment["SIMULATOR_RUN_SECONDS"] {
            guard let seconds = Double(text), seconds >= 0, seconds <= 3600 else {
                FileHandle.standardError.write(Data("mode-simulator: SIMULATOR_RUN_SECONDS must be a number of seconds from 0 to 3600\n".utf8))
                return 78
            }
            configuration.runDuration = seconds
        }
        if environment["SIMULATOR_RATE_LIMIT"] != "off" {
            configuration.rateLimit = .mode
        }
        let simulator = ModeSimulator(
            configuration: configuration,
            world: .demo(workspace: workspace, datasetCount: datasetCount)
        )
        var logger = Logger(label: "mode-simulator")
        logger.logLevel = .notice
        let app = Application(
            router: simulator.buildRouter(),
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in
                print("mode-simulator listening on http://\(host):\(channel.localAddress?.port ?? port)/api (workspace \(workspace))")
            },
            logger: logger
        )
        do {
            try await app.runService()
            return 0
        } catch {
            FileHandle.standardError.write(Data("mode-simulator: \(error)\n".utf8))
            return 1
        }
    }
}
