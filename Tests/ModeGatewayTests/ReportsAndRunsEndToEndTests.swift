import AsyncHTTPClient
import Foundation
import ModeSimulator
import NIOCore
import NIOHTTP1
import Testing

@testable import ModeGateway

@Suite("Reports, runs and their rows, end to end against the simulator")
struct ReportsAndRunsEndToEndTests {
    /// One route, what the client sends, and the Mode call it must make.
    struct Case: Sendable, CustomStringConvertible {
        var method: HTTPMethod
        var path: String
        var body: String?
        var upstream: String
        var status: Int
        var description: String { "\(self.method.rawValue) \(self.path)" }
    }

    static let cases: [Case] = [
        Case(method: .GET, path: "/reports/rp-sales", upstream: "GET /api/demo/reports/rp-sales", status: 200),
        Case(method: .PATCH, path: "/reports/rp0005", body: #"{"name":"Renamed"}"#, upstream: "PATCH /api/demo/reports/rp0005", status: 200),
        Case(method: .GET, path: "/spaces/sp-finance/reports", upstream: "GET /api/demo/spaces/sp-finance/reports", status: 200),
        Case(method: .GET, path: "/collections/sp-growth/reports", upstream: "GET /api/demo/spaces/sp-growth/reports", status: 200),
        Case(method: .GET, path: "/data_sources/ds-warehouse/reports", upstream: "GET /api/demo/data_sources/ds-warehouse/reports", status: 200),
        Case(method: .GET, path: "/datasets/ds0002/reports", upstream: "GET /api/demo/datasets/ds0002/reports", status: 200),
        Case(
            method: .POST,
            path: "/reports/rp-sales/runs",
            body: #"{"parameters":{"rows":2}}"#,
            upstream: "POST /api/demo/reports/rp-sales/runs",
            status: 202
        ),
        Case(method: .GET, path: "/reports/rp-sales/runs", upstream: "GET /api/demo/reports/rp-sales/runs", status: 200),
        Case(method: .GET, path: "/reports/rp-sales/runs/run-sales-1", upstream: "GET /api/demo/reports/rp-sales/runs/run-sales-1", status: 200),
        Case(
            method: .GET,
            path: "/reports/rp-sales/runs/run-sales-1/query_runs",
            upstream: "GET /api/demo/reports/rp-sales/runs/run-sales-1/query_runs",
            status: 200
        ),
        Case(method: .POST, path: "/datasets/ds0003/runs", upstream: "POST /api/demo/datasets/ds0003/runs", status: 202),
        Case(method: .GET, path: "/datasets/ds0003/runs", upstream: "GET /api/demo/datasets/ds0003/runs", status: 200),
        Case(method: .GET, path: "/datasets/ds0003/runs/run10002", upstream: "GET /api/demo/datasets/ds0003/runs/run10002", status: 200),
        Case(
            method: .GET,
            path: "/datasets/ds0003/results",
            upstream: "GET /api/demo/reports/ds0003/runs/run10002/query_runs/qr1-run10002/results/content.json",
            status: 200
        ),
        Case(
            method: .GET,
            path: "/reports/rp-sales/results",
            upstream: "GET /api/demo/reports/rp-sales/runs/run-sales-1/query_runs/qr2-run-sales-1/results/content.json",
            status: 200
        ),
        Case(
            method: .GET,
            path: "/reports/rp-sales/queries/q-sales-revenue/results?format=csv",
            upstream: "GET /api/demo/reports/rp-sales/runs/run-sales-1/query_runs/qr2-run-sales-1/results/content.csv",
            status: 200
        ),
    ]

    @Test("Every report, run and results route makes its Mode call and answers plain JSON", arguments: cases)
    func everyRoute(_ route: Case) async throws {
        try await GatewayHarness.with { (harness: GatewayHarness) async throws in
            let reply = try await harness.send(route.method, route.path, body: route.body)
            #expect(reply.status == route.status, "\(reply.body)")
            for member in ["\"_links\"", "\"_forms\"", "\"_embedded\""] { #expect(!reply.body.contains(member)) }
            let calls = harness.control.requests.map { "\($0.method) \($0.path)" }
            #expect(calls.contains(route.upstream), "\(calls)")
            if let sent = harness.control.requests.first(where: { $0.method != "GET" }) {
                switch route.path {
                case "/reports/rp0005": #expect(sent.body == #"{"report":{"name":"Renamed"}}"#)
                case "/reports/rp-sales/runs": #expect(sent.body == #"{"parameters":{"rows":2}}"#)
                default: #expect(sent.body == nil || sent.body == "", "a dataset run has no body")
                }
            }
            if route.status == 202 {
                let token = try #require(reply.object["token"] as? String)
                #expect(reply.headers["Location"].first == route.path + "/" + token)
                #expect(reply.headers["Retry-After"].first == "1")
            }
            if route.path.hasSuffix("/reports") || route.path.hasSuffix("/runs") || route.path.hasSuffix("/query_runs"),
                route.method == .GET
            {
                let items = try #require(reply.object["items"] as? [[String: Any]])
                #expect(reply.object["count"] as? Int == items.count)
            }
        }
    }

    @Test("Lists of reports hold every page: a collection with more than 30 reports")
    func completeReportLists() async throws {
        try await GatewayHarness.with { (harness: GatewayHarness) async throws in
            let world = harness.simulator.simulator.store.snapshot
            let expected = world.reports.filter { $0.dataSourceToken == "ds-warehouse" }.count
            let reply = try await harness.get("/data_sources/ds-warehouse/reports?order=desc&order_by=updated_at")
            #expect(reply.object["count"] as? Int == expected)
            let byDataset = try await harness.get("/datasets/ds0002/reports")
            #expect(byDataset.object["count"] as? Int == world.reports.filter { $0.datasetTokens.contains("ds0002") }.count)
            #expect((byDataset.object["count"] as? Int ?? 0) > 0)
        }
    }

    @Test("Rows in JSON, CSV and NDJSON are byte for byte what the simulator holds, BOM and gzip removed")
    func formats() async throws {
        try await GatewayHarness.with { (harness: GatewayHarness) async throws in
            let dataset = try #require(harness.simulator.simulator.store.snapshot.report("ds0001"))
            let rows = SimRows(reportToken: "ds0001", queryIndex: 0, count: dataset.defaultRows)
            let json = try await harness.get("/datasets/ds0001/results")
            #expect(json.status == 200 && json.body == rows.json)
            #expect(json.headers["Content-Type"].first == "application/json")
            #expect(json.headers["X-Mode-Run"].first == "run10000")
            #expect(json.headers["Vary"].first == "Accept")
            let csv = try await harness.get("/datasets/ds0001/results", headers: [("Accept", "text/csv")])
            #expect(csv.status == 200 && csv.body == rows.csv)
            #expect(csv.headers["Content-Type"].first == "text/csv; charset=utf-8")
            let ndjson = try await harness.get("/datasets/ds0001/results?format=ndjson")
            let expectedLines = rows.json.dropFirst().dropLast().replacingOccurrences(of: "},{", with: "}\n{") + "\n"
            #expect(ndjson.body == expectedLines)
            #expect(ndjson.headers["Content-Type"].first == "application/x-ndjson")
            let preferred = try await harness.get("/datasets/ds0001/results", headers: [("Accept", "text/html;q=0.9, application/x-ndjson")])
            #expect(preferred.body == expectedLines)

            let query = try await harness.get("/reports/rp-sales/queries/q-sales-revenue/results")
            #expect(query.body == SimRows(reportToken: "rp-sales", queryIndex: 1, count: 5).json)
            let report = try await harness.get("/reports/rp-sales/results")
            #expect(report.object["run"] as? String == "run-sales-1")
            let queries = try #require(report.object["queries"] as? [[String: Any]])
            #expect(queries.map { $0["query_token"] as? String } == ["q-sales-orders", "q-sales-revenue"])
            for (index, entry) in queries.enumerated() {
                let expected = try JSONSerialization.jsonObject(with: Data(SimRows(reportToken: "rp-sales", queryIndex: index, count: 5).json.utf8))
                #expect(NSArray(array: entry["rows"] as? [Any] ?? []) == NSArray(array: expected as? [Any] ?? [1]))
            }
        }
    }

    @Test("Rows are cached by run: the ETag is stable, a repeat is a HIT, If-None-Match is a 304")
    func cachedRows() async throws {
        try await GatewayHarness.with { (harness: GatewayHarness) async throws in
            let first = try await harness.get("/datasets/ds0002/results?format=csv")
            #expect(first.headers["X-Cache"].first == "MISS")
            let calls = harness.control.requestCount
            let second = try await harness.get("/datasets/ds0002/results?format=csv")
            #expect(second.headers["X-Cache"].first == "HIT" && second.body == first.body)
            #expect(harness.control.requestCount == calls, "a hit makes no upstream call")
            let etag = try #require(first.headers["ETag"].first)
            #expect(second.headers["ETag"].first == etag)
            let json = try await harness.get("/datasets/ds0002/results")
            #expect(json.headers["ETag"].first != etag, "the ETag names the format too")
            let notModified = try await harness.get("/datasets/ds0002/results?format=csv", headers: [("If-None-Match", etag)])
            #expect(notModified.status == 304 && notModified.body.isEmpty)
            let pinned = try await harness.get("/datasets/ds0002/results?format=csv&run=run10001")
            #expect(pinned.headers["ETag"].first == etag && pinned.headers["Cache-Control"].first?.contains("immutable") == true)
        }
    }

    @Test("Many clients asking at once for the same cold rows cost Mode one download")
    func coalescedRows() async throws {
        try await GatewayHarness.with { (harness: GatewayHarness) async throws in
            let bodies = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<20 { group.addTask { try await harness.get("/reports/rp-sales/queries/q-sales-orders/results?format=csv").body } }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(Set(bodies).count == 1 && bodies[0] == SimRows(reportToken: "rp-sales", queryIndex: 0, count: 5).csv)
            let downloads = harness.control.requests.filter { $0.path.hasSuffix("/qr1-run-sales-1/results/content.csv") }
            #expect(downloads.count == 1, "\(downloads.count) downloads")
        }
    }

    @Test("A run with parameters, waited on, then its rows: two calls, and the report's latest moves on")
    func runThenRows() async throws {
        try await GatewayHarness.with(simulator: { $0.runDuration = 1.0 }) { (harness: GatewayHarness) async throws in
            let before = try await harness.get("/reports/rp-sales")
            #expect(before.object["last_successful_run_token"] as? String == "run-sales-1")
            let run = try await harness.send(.POST, "/reports/rp-sales/runs?wait=20", body: #"{"parameters":{"rows":7}}"#)
            #expect(run.status == 200 && run.object["state"] as? String == "succeeded", "\(run.body)")
            let token = try #require(run.object["token"] as? String)
            #expect(run.headers["Location"].first == "/reports/rp-sales/runs/\(token)")
            // The finished run invalidated the cached report: the latest rows are the new run's.
            let after = try await harness.get("/reports/rp-sales")
            #expect(after.headers["X-Cache"].first == "MISS" && after.object["last_successful_run_token"] as? String == token)
            let rows = try await harness.get("/reports/rp-sales/queries/q-sales-orders/results")
            #expect(rows.headers["X-Mode-Run"].first == token)
            #expect(rows.body == SimRows(reportToken: "rp-sales", queryIndex: 0, count: 7).json)
            let runs = try await harness.get("/reports/rp-sales/runs")
            #expect((runs.object["items"] as? [[String: Any]])?.first?["token"] as? String == token)
        }
    }

    @Test("A hundred clients waiting on one run cost Mode the polls of one client")
    func sharedWaiting() async throws {
        try await GatewayHarness.with(simulator: { $0.runDuration = 2.5 }) { (harness: GatewayHarness) async throws in
            func polls(of token: String) -> Int {
                harness.control.requests.filter { $0.method == "GET" && $0.path == "/api/demo/reports/rp-sales/runs/\(token)" }.count
            }
            let single = try #require(try await harness.send(.POST, "/reports/rp-sales/runs").object["token"] as? String)
            let alone = try await harness.get("/reports/rp-sales/runs/\(single)?wait=30")
            #expect(alone.status == 200)
            let one = polls(of: single)

            let shared = try #require(try await harness.send(.POST, "/reports/rp-sales/runs").object["token"] as? String)
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<100 {
                    group.addTask { try await harness.get("/reports/rp-sales/runs/\(shared)?wait=30").status }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.allSatisfy { $0 == 200 })
            #expect(polls(of: shared) <= one + 1, "one client: \(one) polls; a hundred: \(polls(of: shared))")
            #expect(polls(of: shared) >= 1)
        }
    }

    @Test("An Idempotency-Key replay makes one Mode POST; another body with it gets 422")
    func idempotencyKeys() async throws {
        try await GatewayHarness.with(configure: { $0.keys = GatewayHarness.Keys.store }) { (harness: GatewayHarness) async throws in
            func post(_ body: String, key: String, as client: String = GatewayHarness.Keys.write) async throws -> GatewayHarness.Reply {
                try await harness.send(
                    .POST,
                    "/reports/rp-sales/runs",
                    headers: [("Authorization", "Bearer \(client)"), ("Idempotency-Key", key)],
                    body: body
                )
            }
            func posts() -> Int { harness.control.requests.filter { $0.method == "POST" }.count }
            let replies = try await withThrowingTaskGroup(of: GatewayHarness.Reply.self) { group in
                for _ in 0..<10 { group.addTask { try await post(#"{"parameters":{"rows":3}}"#, key: "nightly-2026-11-23") } }
                return try await group.reduce(into: [GatewayHarness.Reply]()) { $0.append($1) }
            }
            #expect(posts() == 1)
            #expect(Set(replies.compactMap { $0.headers["Location"].first }).count == 1)
            #expect(replies.allSatisfy { $0.status == 202 })
            #expect(replies.filter { $0.headers["Idempotent-Replayed"].first == "true" }.count == 9)
            let later = try await post(#"{"parameters": {"rows": 3}}"#, key: "nightly-2026-11-23")
            #expect(later.status == 202 && later.headers["Idempotent-Replayed"].first == "true" && posts() == 1)
            let conflicting = try await post(#"{"parameters":{"rows":4}}"#, key: "nightly-2026-11-23")
            #expect(conflicting.status == 422 && conflicting.object["type"] as? String == "https://mode-gateway.dev/problems/idempotency-key-reused")
            #expect(posts() == 1)
            // The key is the client's own: another client's same key is a new request.
            let other = try await post(#"{"parameters":{"rows":3}}"#, key: "nightly-2026-11-23", as: GatewayHarness.Keys.admin)
            #expect(other.status == 202 && other.headers["Idempotent-Replayed"].first == nil && posts() == 2)
            let bad = try await post("{}", key: "tab\there")
            #expect(bad.status == 400 && posts() == 2)
        }
    }

    @Test("A report that never succeeded, a failed run and an unfinished run each get their problem")
    func problems() async throws {
        try await GatewayHarness.with(simulator: { $0.runDuration = 30 }) { (harness: GatewayHarness) async throws in
            let never = try await harness.get("/reports/rp-never/results")
            #expect(never.status == 404 && (never.object["detail"] as? String)?.contains("no successful run") == true)
            let failed = try await harness.get("/reports/rp-failing/results?run=run-failing-2-failed")
            #expect(failed.status == 409 && failed.object["type"] as? String == "https://mode-gateway.dev/problems/run-failed")
            #expect((failed.object["detail"] as? String)?.contains("analytics.missing_table") == true)
            let started = try await harness.send(.POST, "/reports/rp-sales/runs")
            let token = try #require(started.object["token"] as? String)
            let unfinished = try await harness.get("/reports/rp-sales/results?run=\(token)")
            #expect(unfinished.status == 409 && unfinished.object["type"] as? String == "https://mode-gateway.dev/problems/run-not-finished")
            let waiting = try await harness.get("/reports/rp-sales/runs/\(token)?wait=1")
            #expect(waiting.status == 202 && waiting.headers["Retry-After"].first != nil)
            #expect(try await harness.get("/reports/rp-sales/runs/nosuchrun").status == 404)
            #expect(try await harness.get("/reports/rp-sales/queries/q-nope/results").status == 404)
        }
    }

    @Test("A run that fails is answered as finished, and the report's latest rows stay the last good ones")
    func failingRun() async throws {
        try await GatewayHarness.with(simulator: { $0.runDuration = 0.5 }) { (harness: GatewayHarness) async throws in
            harness.control.setFailing(report: "rp-sales", true)
            let run = try await harness.send(.POST, "/reports/rp-sales/runs?wait=20")
            #expect(run.status == 200 && run.object["state"] as? String == "failed")
            let token = try #require(run.object["token"] as? String)
            let rows = try await harness.get("/reports/rp-sales/results?run=\(token)")
            #expect(rows.status == 409)
            let latest = try await harness.get("/reports/rp-sales/results")
            #expect(latest.status == 200 && latest.headers["X-Mode-Run"].first == "run-sales-1")
        }
    }

    @Test("Bad query parameters, formats and bodies get clear answers, with nothing sent upstream")
    func badInput() async throws {
        try await GatewayHarness.with { (harness: GatewayHarness) async throws in
            typealias Case = (method: HTTPMethod, path: String, body: String?, status: Int)
            let cases: [Case] = [
                (.GET, "/datasets/ds0001/results?format=xml", nil, 400),
                (.GET, "/reports/rp-sales/results?format=csv", nil, 406),
                (.GET, "/datasets/ds0001/results?run=a.b", nil, 400),
                (.GET, "/datasets/ds0001/results?page=2", nil, 400),
                (.GET, "/reports/rp-sales/runs/run-sales-1?wait=abc", nil, 400),
                (.GET, "/reports/rp-sales/runs/run-sales-1?wait=100000", nil, 400),
                (.POST, "/reports/rp-sales/runs", "[1]", 400),
                (.POST, "/reports/rp-sales/runs", #"{"parameters":"rows=1"}"#, 400),
                (.POST, "/reports/rp-sales/runs", #"{"rows":1}"#, 400),
                (.POST, "/reports/rp-sales/runs", String(repeating: " ", count: 70_000), 413),
                (.PATCH, "/reports/rp-sales", #"{"owner":"x"}"#, 400),
                (.GET, "/reports/rp.sales/results", nil, 400),
                (.GET, "/reports/rp-sales/queries/q%2F1/results", nil, 400),
            ]
            for (method, path, body, status) in cases {
                let reply = try await harness.send(method, path, body: body)
                #expect(reply.status == status, "\(method.rawValue) \(path): \(reply.body)")
                #expect(reply.headers["Content-Type"].first == "application/problem+json")
            }
            let notAcceptable = try await harness.get("/datasets/ds0001/results", headers: [("Accept", "text/html")])
            #expect(notAcceptable.status == 406)
            #expect(harness.control.requestCount == 0)
        }
    }
}
