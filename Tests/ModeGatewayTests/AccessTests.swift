import Configuration
import Foundation
import NIOHTTP1
import Testing

@testable import ModeGateway

@Suite("Client keys, scopes and rates")
struct AccessTests {
    typealias Keys = GatewayHarness.Keys

    /// One request of each class of route, and whether it needs read, write or admin.
    static let routeClasses: [(method: HTTPMethod, path: String, body: String?, scope: Scope)] = [
        (.GET, "/datasets/ds0001", nil, .read),
        (.GET, "/spaces/sp-finance/datasets", nil, .read),
        (.GET, "/datasets/ds0001/schedules", nil, .read),
        (.PATCH, "/datasets/ds0001", #"{"description":"x"}"#, .write),
        (.DELETE, "/cache", nil, .admin),
    ]

    @Test("Generated keys and the demo's throwaway credentials are 256 random bits: no two alike, no shared prefix past mgw_")
    func generatedKeysAreRandom() {
        let keys = (0..<2000).map { _ in KeyStore.generateKey() }
        #expect(Set(keys).count == keys.count)
        #expect(keys.allSatisfy { $0.hasPrefix("mgw_") && $0.utf8.count == 68 })
        // A counter or a clock (as request ids are) would share long prefixes; random bytes do not.
        let prefixes = Set(keys.map { $0.dropFirst(4).prefix(6) })
        #expect(prefixes.count > 1990)
    }

    @Test("Every scope against every class of route", arguments: [Scope.read, .write, .admin])
    func scopes(scope: Scope) async throws {
        let key = [Scope.read: Keys.read, .write: Keys.write, .admin: Keys.admin][scope]!
        try await GatewayHarness.with(configure: { $0.keys = Keys.store }) { (harness: GatewayHarness) async throws in
            for route in Self.routeClasses {
                let reply = try await harness.send(route.method, route.path, headers: [("Authorization", "Bearer \(key)")], body: route.body)
                if scope >= route.scope {
                    #expect(reply.status == 200, "\(scope) \(route.method) \(route.path)")
                } else {
                    #expect(reply.status == 403, "\(scope) \(route.method) \(route.path)")
                    #expect(reply.object["type"] as? String == "https://mode-gateway.dev/problems/insufficient-scope")
                }
            }
        }
    }

    @Test("A missing, unknown or malformed key gets 401 with WWW-Authenticate: Bearer, on known and unknown routes")
    func unauthenticated() async throws {
        try await GatewayHarness.with(configure: { $0.keys = Keys.store }) { (harness: GatewayHarness) async throws in
            for headers in [[], [("Authorization", "Bearer not-a-key")], [("Authorization", "Basic \(Keys.read)")], [("Authorization", "Bearer")]] {
                for route in Self.routeClasses + [(.GET, "/nowhere", nil, .read)] {
                    let reply = try await harness.send(route.method, route.path, headers: headers, body: route.body)
                    #expect(reply.status == 401, "\(headers) \(route.path)")
                    #expect(reply.headers["WWW-Authenticate"].first?.hasPrefix("Bearer") == true)
                }
            }
            #expect(harness.control.requestCount == 0)
        }
    }

    @Test("The key's name, never the key, is logged")
    func keyNameLogged() async throws {
        try await GatewayHarness.with(configure: { $0.keys = Keys.store }) { (harness: GatewayHarness) async throws in
            #expect(try await harness.get("/datasets/ds0001", headers: [("Authorization", "Bearer \(Keys.write)")]).status == 200)
            // The harness itself fails the test if a key shows up anywhere; here the name must.
            #expect(harness.traffic.logLines.contains { $0.contains("writer") })
        }
    }

    @Test("Running open, the gateway answers only to its own host names (no DNS rebinding)")
    func allowedHosts() async throws {
        try await GatewayHarness.with { (harness: GatewayHarness) async throws in
            let rebound = try await harness.get("/datasets/ds0001", headers: [("Host", "evil.example:\(harness.gatewayPort)")])
            #expect(rebound.status == 421 && rebound.object["type"] as? String == "https://mode-gateway.dev/problems/host-not-allowed")
            let purge = try await harness.send(.DELETE, "/cache", headers: [("Host", "evil.example")])
            #expect(purge.status == 421)
            #expect(harness.control.requestCount == 0)
            #expect(try await harness.get("/datasets/ds0001", headers: [("Host", "LOCALHOST:\(harness.gatewayPort)")]).status == 200)
            #expect(try await harness.get("/datasets/ds0001").status == 200, "127.0.0.1")
            #expect(try await harness.get("/healthz", headers: [("Host", "evil.example")]).status == 200, "probes stay open")
        }
        try await GatewayHarness.with(configure: { $0.allowedHosts = ["gateway.internal"] }) { (harness: GatewayHarness) async throws in
            #expect(try await harness.get("/datasets/ds0001", headers: [("Host", "gateway.internal")]).status == 200)
            #expect(try await harness.get("/datasets/ds0001").status == 421)
        }
        // With keys, the key is what counts.
        try await GatewayHarness.with(configure: { $0.keys = Keys.store }) { (harness: GatewayHarness) async throws in
            let reply = try await harness.get("/datasets/ds0001", headers: [("Host", "evil.example"), ("Authorization", "Bearer \(Keys.read)")])
            #expect(reply.status == 200)
        }
        #expect(AccessGate.hostName("[::1]:8080") == "::1" && AccessGate.hostName("Example.COM") == "example.com")
        #expect(AccessGate.hostName(" \tLocalHost:8080 ") == "localhost" && AccessGate.hostName("[::1]") == "::1" && AccessGate.hostName("") == "")
        #expect(AccessGate.hostName(" ÉXAMPLE.com:1") == "éxample.com")
        // Configured entries are read the way Host headers are.
        var configuration = GatewayConfiguration(workspace: "w", credentials: ModeCredentials(token: "t", secret: "s"))
        configuration.allowedHosts = ["Gateway.Internal:8080", "[::1]"]
        #expect(configuration.effectiveAllowedHosts == ["gateway.internal", "::1"])
    }

    @Test("A key over its rate gets 429 with Retry-After")
    func perKeyRate() async throws {
        // A clock that stands still: no token comes back however slow the machine is.
        try await GatewayHarness.with(
            time: ManualTimeSource().source,
            configure: {
                $0.keys = Keys.store
                $0.clientRatePerSecond = 0.5
                $0.clientBurst = 2
            }
        ) { (harness: GatewayHarness) async throws in
            let auth = [("Authorization", "Bearer \(Keys.read)")]
            #expect(try await harness.get("/datasets/ds0001", headers: auth).status == 200)
            #expect(try await harness.get("/datasets/ds0001", headers: auth).status == 200)
            let limited = try await harness.get("/datasets/ds0001", headers: auth)
            #expect(limited.status == 429)
            #expect(limited.headers["Retry-After"].first == "2")
            // Another key has its own budget.
            #expect(try await harness.get("/datasets/ds0001", headers: [("Authorization", "Bearer \(Keys.admin)")]).status == 200)
        }
    }

    @Test("Clients pay for what reaches Mode, not for hits: a greedy client runs out of its share, a quiet one does not")
    func fairShare() async throws {
        try await GatewayHarness.with(
            time: ManualTimeSource().source,
            configure: {
                $0.keys = Keys.store
                // The defaults: a generous flood cap, and a share of Mode per client.
                $0.clientRatePerSecond = 200
                $0.clientBurst = 400
                $0.clientModeRatePerSecond = 2
                $0.clientModeBurst = 10
            }
        ) { (harness: GatewayHarness) async throws in
            let greedy = [("Authorization", "Bearer \(Keys.read)")]
            let quiet = [("Authorization", "Bearer \(Keys.write)")]
            // Forty concurrent reads of one cold key cost Mode one call: none is refused.
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<40 { group.addTask { try await harness.get("/datasets/ds0002", headers: greedy).status } }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.allSatisfy { $0 == 200 })
            // Hits are free; revalidations are not.
            for _ in 0..<50 { #expect(try await harness.get("/datasets/ds0002", headers: greedy).status == 200) }
            var refused = 0
            for _ in 0..<15 {
                let reply = try await harness.get("/datasets/ds0002", headers: greedy + [("Cache-Control", "no-cache")])
                if reply.status == 429 { refused += 1 }
            }
            #expect(refused >= 5, "past its share, the greedy client is refused")
            // The quiet client's cold read still reaches Mode.
            let read = try await harness.get("/datasets/ds0003", headers: quiet)
            #expect(read.status == 200 && read.headers["X-Cache"].first == "MISS")
        }
    }

    @Test("The keys file is parsed strictly, naming the bad line")
    func keysFile() throws {
        let good = KeyStore.line(forKey: "k1", scope: .admin, name: "ops")
        let store = try KeyStore(parsing: "# comment\n\n\(good)   # trailing comment\n")
        #expect(store.authenticate("k1")?.name == "ops")
        #expect(store.authenticate("k2") == nil)
        // A file written on Windows (CRLF line endings) loads, and its line numbers stay right.
        let crlf = try KeyStore(parsing: "# keys\r\n\(good)\r\n\(KeyStore.line(forKey: "k3", scope: .read, name: "reader"))\r\n")
        #expect(crlf.authenticate("k1")?.name == "ops" && crlf.authenticate("k3")?.scope == .read)
        do {
            _ = try KeyStore(parsing: "# keys\r\n\(good)\r\nnot-a-digest read x\r\n")
            Issue.record("a bad line must be refused")
        } catch {
            #expect(error.line == 3)
        }
        let cases = [
            "abc read x": 1,
            "\(good)\n\(String(repeating: "A", count: 64)) read x": 2,
            "# c\n\(String(repeating: "a", count: 64)) owner x": 2,
            "\(good)\n\(good)": 2,
            "\(String(repeating: "a", count: 64)) read": 1,
        ]
        for (text, line) in cases {
            #expect(throws: KeyFileError.self) { try KeyStore(parsing: text) }
            do {
                _ = try KeyStore(parsing: text)
            } catch {
                #expect(error.line == line, "\(text)")
            }
        }
    }

    @Test("Without keys the gateway refuses a non-loopback address unless told it may run open")
    func exposure() throws {
        let base: [AbsoluteConfigKey: ConfigValue] = ["mode.workspace": "acme", "mode.api.token": "t", "mode.api.secret": "s"]
        func load(_ extra: [AbsoluteConfigKey: ConfigValue]) throws -> GatewayConfiguration {
            try GatewayConfiguration(reader: ConfigReader(provider: InMemoryProvider(values: base.merging(extra) { $1 })))
        }
        #expect(throws: ConfigurationError.self) { try load(["http.host": "0.0.0.0"]) }
        #expect((try? load(["http.host": "0.0.0.0", "gateway.allow.anonymous": "true"])) != nil)
        #expect((try? load(["http.host": "127.0.0.1"])) != nil)
        #expect(throws: ConfigurationError.self) { try load(["gateway.api.keys.file": "/nonexistent/keys"]) }
    }

    @Test("The secret scan finds a leak when there is one")
    func scannerCanFail() {
        let recorder = TrafficRecorder()
        recorder.record(log: "info all good")
        #expect(recorder.leaks(of: GatewayHarness.secrets).isEmpty)
        recorder.record(log: "debug sent Authorization: Basic \(Data("\(GatewayHarness.token):\(GatewayHarness.secret)".utf8).base64EncodedString())")
        #expect(recorder.leaks(of: GatewayHarness.secrets).count == 1)
    }
}
