import Foundation
import ModeGateway
import NIOHTTP1
import Testing

@Suite("Bad input gets a problem and reaches nothing upstream")
struct BadInputEndToEndTests {
    static let hostileTokens = [
        "a.b", "..", "a%2Fb", "a%2fb", "%2e%2e", "a%00b", "a%20b", "a+b", "a%3Bb", "%C3%A9",
        String(repeating: "a", count: 65), "a;b", "a,b", "a~b", "a%25",
    ]

    @Test(
        "Hostile path tokens get 400 on every route",
        arguments: ["/datasets/X", "/datasets/X/schedules", "/spaces/X/datasets", "/collections/X/datasets", "/data_sources/X/datasets"]
    )
    func hostileTokens(template: String) async throws {
        try await GatewayHarness.with { (harness: GatewayHarness) async throws in
            for token in Self.hostileTokens {
                let reply = try await harness.get(template.replacingOccurrences(of: "X", with: token))
                #expect(reply.status == 400, "\(token)")
                #expect(reply.headers["Content-Type"].first == "application/problem+json", "\(token)")
                let problem = reply.object
                #expect(problem["status"] as? Int == 400)
                #expect(problem["type"] is String && problem["title"] is String && problem["detail"] is String)
                #expect((problem["request_id"] as? String)?.isEmpty == false)
            }
            #expect(harness.control.requestCount == 0)
        }
    }

    @Test("A huge query is refused at once: 414 past 8 KiB, 400 past 64 parameters, in time linear in its size")
    func hugeQueries() async throws {
        try await GatewayHarness.with { (harness: GatewayHarness) async throws in
            let long = try await harness.get("/datasets/ds0001?" + String(repeating: "a", count: 9_000))
            #expect(long.status == 414 && long.headers["Content-Type"].first == "application/problem+json")
            let many = (0..<1_500).map { "a\($0)" }.joined(separator: "&")
            let started = ContinuousClock.now
            let reply = try await harness.get("/spaces/sp-finance/datasets?" + many)
            #expect(reply.status == 400 && reply.object["parameter"] as? String == "(query)")
            #expect(ContinuousClock.now - started < .seconds(5))
            #expect(harness.control.requestCount == 0)
        }
    }

    @Test("A Mode deadline longer than the shutdown grace is called out at start")
    func deadlineAgainstGrace() async throws {
        try await GatewayHarness.with(configure: { $0.upstreamTimeout = .seconds(30) }) { (harness: GatewayHarness) async throws in
            #expect(harness.traffic.logLines.contains { $0.contains("MODE_TIMEOUT_SECONDS is longer than SHUTDOWN_GRACE_SECONDS") })
        }
        try await GatewayHarness.with { (harness: GatewayHarness) async throws in
            #expect(!harness.traffic.logLines.contains { $0.contains("MODE_TIMEOUT_SECONDS is longer") })
        }
    }

    @Test("Unknown and malformed query parameters get 400 naming them")
    func badQueries() async throws {
        try await GatewayHarness.with { (harness: GatewayHarness) async throws in
            let cases: [(String, String)] = [
                ("/spaces/sp-finance/datasets?per_page=5", "per_page"),
                ("/spaces/sp-finance/datasets?order=sideways", "order"),
                ("/spaces/sp-finance/datasets?order_by=name", "order_by"),
                ("/spaces/sp-finance/datasets?filter=created_at.gt", "filter"),
                ("/spaces/sp-finance/datasets?filter=name.gt.2024-01-01T00:00:00Z", "filter"),
                ("/spaces/sp-finance/datasets?filter=created_at.eq.2024-01-01T00:00:00Z", "filter"),
                ("/spaces/sp-finance/datasets?filter=created_at.gt.2024-13-01T00:00:00Z", "filter"),
                ("/spaces/sp-finance/datasets?filter=created_at.gt.yesterday", "filter"),
                ("/spaces/sp-finance/datasets?page=0", "page"),
                ("/spaces/sp-finance/datasets?page=-1", "page"),
                ("/spaces/sp-finance/datasets?page=abc", "page"),
                ("/spaces/sp-finance/datasets?page=1&page=2", "page"),
                ("/spaces/sp-finance/datasets?order=%ZZ", "order"),
                ("/datasets/ds0001?page=1", "page"),
            ]
            for (path, parameter) in cases {
                let reply = try await harness.get(path)
                #expect(reply.status == 400, "\(path)")
                #expect(reply.object["parameter"] as? String == parameter, "\(path)")
                #expect((reply.object["detail"] as? String)?.contains(parameter) == true, "\(path)")
            }
            #expect(harness.control.requestCount == 0)
        }
    }

    @Test("Invalid PATCH bodies get 400 naming the field, and nothing is sent")
    func badBodies() async throws {
        try await GatewayHarness.with { (harness: GatewayHarness) async throws in
            let cases: [(String, String?)] = [
                ("not json", nil),
                ("[1,2]", nil),
                ("\"name\"", nil),
                ("{}", nil),
                (#"{"report":{"name":"x"}}"#, "report"),
                (#"{"name":"x","color":"red"}"#, "color"),
                (#"{"name":5}"#, "name"),
                (#"{"description":null}"#, "description"),
                (#"{"space_token":true}"#, "space_token"),
                (#"{"space_token":"../etc"}"#, "space_token"),
                (#"{"name":"x""#, nil),
            ]
            for (body, field) in cases {
                let reply = try await harness.send(.PATCH, "/datasets/ds0001", body: body)
                #expect(reply.status == 400, "\(body)")
                #expect(reply.headers["Content-Type"].first == "application/problem+json")
                #expect(reply.object["field"] as? String == field, "\(body)")
            }
            let large = "{\"description\":\"" + String(repeating: "x", count: 70 * 1024) + "\"}"
            let tooLarge = try await harness.send(.PATCH, "/datasets/ds0001", body: large)
            #expect(tooLarge.status == 413)
            #expect(tooLarge.object["status"] as? Int == 413)
            #expect(harness.control.requestCount == 0)
        }
    }

    @Test("A client X-Request-ID is echoed in the header and the problem; a bad one is replaced")
    func requestIDs() async throws {
        try await GatewayHarness.with { (harness: GatewayHarness) async throws in
            let given = try await harness.get("/datasets/a.b", headers: [("X-Request-ID", "caller-42")])
            #expect(given.headers["X-Request-ID"].first == "caller-42")
            #expect(given.object["request_id"] as? String == "caller-42")
            let bad = try await harness.get("/datasets/a.b", headers: [("X-Request-ID", "no spaces allowed")])
            let generated = try #require(bad.headers["X-Request-ID"].first)
            #expect(generated != "no spaces allowed" && generated.count == 32)
            #expect(bad.object["request_id"] as? String == generated)
        }
    }
}
