import AsyncHTTPClient
import Foundation
import Logging
import ModeSimulator
import NIOCore
import Synchronization
import Testing

@testable import ModeGateway

@Suite("Operations: health, readiness, metrics, logs, shutdown")
struct OperationsTests {
    @Test("/healthz answers while the process lives, even with Mode down")
    func healthz() async throws {
        try await GatewayHarness.with(configure: { $0.keys = GatewayHarness.Keys.store }) { (harness: GatewayHarness) async throws in
            await harness.simulator.stop()
            let reply = try await harness.get("/healthz")
            #expect(reply.status == 200)
            #expect(reply.object["status"] as? String == "ok")
        }
    }

    @Test("/readyz stays ready while Mode is down, and reports Mode's state in its body")
    func readiness() async throws {
        let clock = ManualTimeSource()
        var restarted: RunningSimulator?
        try await GatewayHarness.with(time: clock.source, configure: { $0.keys = GatewayHarness.Keys.store }) {
            (harness: GatewayHarness) async throws in
            /// The probe answers at once with what it knows; the check of Mode runs behind it.
            func readyz(until accept: ([String: Any]) -> Bool) async throws -> GatewayHarness.Reply {
                var reply = try await harness.get("/readyz")
                for _ in 0..<200 where !accept(reply.object["mode"] as? [String: Any] ?? [:]) {
                    try await Task.sleep(for: .milliseconds(10))
                    reply = try await harness.get("/readyz")
                }
                return reply
            }
            let up = try await readyz { $0["reachable"] as? Bool == true }
            #expect(up.status == 200)
            #expect(harness.control.requests.last?.path == "/api/verify")
            let mode = try #require(up.object["mode"] as? [String: Any])
            #expect(mode["reachable"] as? Bool == true && mode["credentials_valid"] as? Bool == true && mode["breaker"] as? String == "closed")
            await harness.simulator.stop()
            clock.advance(by: .seconds(11))
            let down = try await readyz { $0["reachable"] as? Bool == false }
            #expect(down.status == 200, "Mode's outage must not take the gateway out of rotation")
            let downMode = try #require(down.object["mode"] as? [String: Any])
            #expect(downMode["reachable"] as? Bool == false && downMode["detail"] as? String == "Mode could not be reached.")
            #expect(downMode["seconds_since_success"] as? Int == 11)
            let metrics = try await harness.get("/metrics", headers: [("Authorization", "Bearer \(GatewayHarness.Keys.read)")])
            #expect(metrics.body.contains("mode_up 0"))
            restarted = try await RunningSimulator.start(harness.simulator.simulator, port: harness.simulator.port)
            clock.advance(by: .seconds(11))
            let again = try await readyz { $0["reachable"] as? Bool == true }
            #expect((again.object["mode"] as? [String: Any])?["reachable"] as? Bool == true)
        }
        await restarted?.stop()
    }

    @Test("With READINESS_REQUIRES_MODE, /readyz is 503 while Mode is unusable; the probe never uses the budget or the breaker")
    func readinessRequiringMode() async throws {
        try await GatewayHarness.with(configure: {
            $0.credentials = ModeCredentials(token: GatewayHarness.token, secret: "nope")
            $0.readinessRequiresMode = true
            $0.upstream.breakerThreshold = 1
        }) { (harness: GatewayHarness) async throws in
            let reply = try await harness.get("/readyz")
            #expect(reply.status == 503)
            #expect(reply.object["detail"] as? String == "Mode refused the gateway's credentials.")
            let metrics = try await harness.get("/metrics")
            #expect(metrics.body.contains("mode_breaker_state 0"), "a failed probe must not trip the breaker")
            #expect(!metrics.body.contains("mode_upstream_requests_total{status=\"401\"}"), "the probe is not upstream traffic")
        }
        try await GatewayHarness.with(configure: { $0.credentials = ModeCredentials(token: GatewayHarness.token, secret: "nope") }) {
            (harness: GatewayHarness) async throws in
            var reply = try await harness.get("/readyz")
            for _ in 0..<200 where (reply.object["mode"] as? [String: Any])?["credentials_valid"] as? Bool != false {
                try await Task.sleep(for: .milliseconds(10))
                reply = try await harness.get("/readyz")
            }
            #expect(reply.status == 200)
            #expect((reply.object["mode"] as? [String: Any])?["credentials_valid"] as? Bool == false)
        }
    }

    @Test("/metrics covers requests, upstream, cache and resilience, labelled by route template only")
    func metrics() async throws {
        try await GatewayHarness.with { (harness: GatewayHarness) async throws in
            _ = try await harness.get("/datasets/ds0001")
            _ = try await harness.get("/datasets/ds0001")
            _ = try await harness.get("/datasets/not.valid")
            let reply = try await harness.get("/metrics")
            #expect(reply.status == 200)
            #expect(reply.headers["Content-Type"].first?.hasPrefix("text/plain") == true)
            let text = reply.body
            for name in [
                "http_requests_total", "http_request_duration_seconds_bucket", "mode_upstream_requests_total",
                "mode_upstream_request_duration_seconds_bucket", "gateway_cache_hits_total", "gateway_cache_misses_total",
                "gateway_cache_stale_total", "gateway_cache_coalesced_waits_total", "gateway_cache_evictions_total",
                "gateway_cache_bytes", "gateway_cache_entries", "mode_upstream_retries_total", "mode_rate_limiter_waits_total",
                "mode_rate_limiter_rejections_total", "mode_breaker_state",
            ] {
                #expect(text.contains(name), "\(name)")
            }
            #expect(text.contains(#"route="/datasets/{dataset}""#))
            #expect(text.contains(#"status="400""#))
            #expect(!text.contains("ds0001") && !text.contains("not.valid"))
            #expect(text.contains("gateway_cache_hits_total 1"))
        }
    }

    @Test("Scrapes that overlap, with statistics read a moment apart, never count twice")
    func overlappingScrapes() {
        let metrics = GatewayMetrics()
        func hits(_ text: [UInt8]) -> String? {
            String(decoding: text, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix("gateway_cache_hits_total") }
                .map { String($0.split(separator: " ").last ?? "") }
        }
        var older = ResponseCache.Statistics()
        older.hits = 5
        var newer = ResponseCache.Statistics()
        newer.hits = 8
        _ = metrics.render(cache: newer, upstream: .init())
        // A scrape that read the statistics before the last one finishes after it.
        _ = metrics.render(cache: older, upstream: .init())
        #expect(hits(metrics.render(cache: newer, upstream: .init())) == "8")
    }

    @Test("Every log line in json mode is one JSON object with the request fields")
    func jsonLogs() throws {
        let lines = Mutex<[String]>([])
        let sink = LineSink { line in lines.withLock { $0.append(line) } }
        var logger = Logger(label: "mode-gateway") { label in LineLogHandler(label: label, format: .json, sink: sink) }
        logger[metadataKey: "request_id"] = "abc"
        logger.info("request", metadata: ["status": "200", "route": "/datasets/{dataset}", "quote": "a \"b\"\n"])
        logger.error("boom")
        let written = lines.withLock { $0 }
        #expect(written.count == 2)
        for line in written {
            #expect(line.hasSuffix("}\n") && line.filter { $0 == "\n" }.count == 1)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(object["ts"] is String && object["level"] is String && object["message"] is String)
        }
        let first = try #require(try JSONSerialization.jsonObject(with: Data(written[0].utf8)) as? [String: Any])
        #expect(first["request_id"] as? String == "abc" && first["quote"] as? String == "a \"b\"\n")
    }
}

/// The real `mode-gateway` binary, as operators run it.
@Suite("The mode-gateway process", .serialized)
struct ProcessTests {
    static var binary: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/debug/mode-gateway")
    }

    /// Starts the binary with `environment`, returning it, its stdout lines as they come, and its port.
    static func launch(_ environment: [String: String], arguments: [String] = []) throws -> (Process, Pipe, Pipe) {
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = arguments
        process.environment = environment.merging(["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin"]) { $1 }
        process.currentDirectoryURL = FileManager.default.temporaryDirectory
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        return (process, output, errors)
    }

    /// The binary in front of `simulator` with the test credentials, JSON logs and `settings`;
    /// returns once it listens, with its stdout lines and its port.
    static func launchGateway(before simulator: RunningSimulator, with settings: [String: String]) async throws -> (Process, LineReader, Int) {
        let (process, output, _) = try Self.launch(
            [
                "MODE_WORKSPACE": "demo", "MODE_API_TOKEN": GatewayHarness.token, "MODE_API_SECRET": GatewayHarness.secret,
                "MODE_API_URL": simulator.baseURL, "HTTP_PORT": "0", "LOG_FORMAT": "json",
            ].merging(settings) { $1 }
        )
        let lines = LineReader(output.fileHandleForReading)
        let listening = try #require(try await lines.first { $0.contains("mode-gateway listening") })
        let object = try #require(try JSONSerialization.jsonObject(with: Data(listening.utf8)) as? [String: Any])
        let port = try #require((object["address"] as? String)?.split(separator: ":").last.flatMap { Int($0) })
        return (process, lines, port)
    }

    @Test("SIGTERM during a slow request: the request completes, then the process exits 0; every stdout line is JSON")
    func gracefulShutdown() async throws {
        let simulator = try await RunningSimulator.start(
            ModeSimulator(configuration: .init(workspace: "demo", token: GatewayHarness.token, secret: GatewayHarness.secret))
        )
        defer { Task { await simulator.stop() } }
        let (process, lines, gatewayPort) = try await Self.launchGateway(before: simulator, with: ["LOG_LEVEL": "debug"])
        simulator.simulator.control.setFault(FaultPlan(.delay(milliseconds: 1500), count: 1))
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let request = Task {
            let response = try await client.execute(HTTPClientRequest(url: "http://127.0.0.1:\(gatewayPort)/datasets/ds0001"), timeout: .seconds(10))
            return (Int(response.status.code), try await response.body.collect(upTo: 1 << 20).readableBytes)
        }
        while simulator.simulator.control.requestCount == 0 { try await Task.sleep(for: .milliseconds(10)) }
        kill(process.processIdentifier, SIGTERM)
        let (status, bytes) = try await request.value
        #expect(status == 200 && bytes > 0)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        try await client.shutdown()
        #expect(try await lines.first { $0.contains("mode-gateway stopped") } != nil)
        for line in lines.all {
            #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) is [String: Any], "\(line)")
            #expect(!GatewayHarness.secrets.contains { line.contains($0) }, "a secret in: \(line)")
        }
    }

    @Test("Missing configuration exits 78 with one line naming the variable")
    func configurationError() throws {
        let (process, _, errors) = try Self.launch(["MODE_API_TOKEN": "t", "MODE_API_SECRET": "s"])
        process.waitUntilExit()
        #expect(process.terminationStatus == 78)
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(text == "configuration error: MODE_WORKSPACE is required.\n")
    }

    @Test("A malformed keys file stops the program at start, naming the line")
    func malformedKeys() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID().uuidString)")
        try "# keys\nnot-a-digest read someone\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let (process, _, errors) = try Self.launch([
            "MODE_WORKSPACE": "demo", "MODE_API_TOKEN": "t", "MODE_API_SECRET": "s", "GATEWAY_API_KEYS_FILE": file.path,
        ])
        process.waitUntilExit()
        #expect(process.terminationStatus == 78)
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(text.hasPrefix("configuration error: GATEWAY_API_KEYS_FILE is malformed: line 2:"))
    }
}

/// Collects lines from a pipe as they arrive.
final class LineReader: Sendable {
    private let state = Mutex<(lines: [String], buffer: Data, closed: Bool)>(([], Data(), false))

    init(_ handle: FileHandle) {
        handle.readabilityHandler = { [self] handle in
            let data = handle.availableData
            self.state.withLock { state in
                if data.isEmpty {
                    state.closed = true
                    handle.readabilityHandler = nil
                    return
                }
                state.buffer.append(data)
                while let newline = state.buffer.firstIndex(of: 0x0A) {
                    state.lines.append(String(decoding: state.buffer[state.buffer.startIndex..<newline], as: UTF8.self))
                    state.buffer.removeSubrange(state.buffer.startIndex...newline)
                }
            }
        }
    }

    var all: [String] { self.state.withLock { $0.lines } }

    /// Waits (polling the pipe's output, up to `limit`) for a line that `predicate` accepts.
    func first(where predicate: (String) -> Bool, limit: Duration = .seconds(30)) async throws -> String? {
        let started = ContinuousClock.now
        while ContinuousClock.now - started < limit {
            let (lines, closed) = self.state.withLock { ($0.lines, $0.closed) }
            if let line = lines.first(where: predicate) { return line }
            if closed { return nil }
            try await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }
}

@Suite("Log time stamps and Date headers")
struct LogTimestampTests {
    @Test("The fast path's Date header reads as RFC 9110's IMF-fixdate, as Foundation writes it")
    func httpDateMatchesFoundation() {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        for second in [0, 951_782_400, 1_700_000_000, 1_764_590_703, 4_102_444_799] {
            #expect(HTTPDate.format(epochSeconds: second) == formatter.string(from: Date(timeIntervalSince1970: Double(second))), "\(second)")
        }
        var date = HTTPDate()
        #expect(date.now().hasSuffix(" GMT") && date.now().utf8.count == 29)
    }

    @Test("The per-second time stamp reads as Foundation's ISO 8601 would write it")
    func matchesFoundation() {
        let style = Date.ISO8601FormatStyle().year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted)
        for second in [0, 951_782_400, 1_700_000_000, 1_764_590_703, 4_102_444_799] {
            let expected = Date(timeIntervalSince1970: Double(second) + 0.25).formatted(style)
            #expect(LineLogHandler.formatSecond(second) + "250Z" == expected, "\(second)")
        }
        let now = LineLogHandler.timestamp()
        #expect(now.utf8.count == 24 && now.hasSuffix("Z") && now.dropFirst(10).hasPrefix("T"))
    }
}
