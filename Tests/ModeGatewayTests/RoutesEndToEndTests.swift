import Foundation
import ModeGateway
import ModeSimulator
import NIOHTTP1
import Testing

@Suite("Flat routes, end to end over loopback")
struct RoutesEndToEndTests {
    @Test("GET /datasets/{dataset} answers the dataset as plain JSON, HAL stripped and _embedded lifted")
    func getDataset() async throws {
        try await GatewayHarness.with { (harness: GatewayHarness) async throws in
            let reply = try await harness.get("/datasets/ds0001")
            #expect(reply.status == 200)
            #expect(reply.headers["Content-Type"].first == "application/json")
            let object = reply.object
            #expect(object["token"] as? String == "ds0001")
            #expect(object["_links"] == nil)
            #expect(object["_forms"] == nil)
            #expect(object["_embedded"] == nil)
            let creator = try #require(object["creator"] as? [String: Any])
            #expect(creator["username"] as? String == "analyst")
            #expect(creator["_links"] == nil)
            #expect(!reply.body.contains("_links"))
        }
    }

    @Test("Lists are complete: every page is read, flattened into items and count")
    func completeLists() async throws {
        try await GatewayHarness.with { (harness: GatewayHarness) async throws in
            let world = harness.simulator.simulator.store.snapshot
            for (path, expected) in [
                ("/spaces/sp-finance/datasets", world.datasets.filter { $0.spaceToken == "sp-finance" && !$0.restricted }.count),
                ("/collections/sp-growth/datasets", world.datasets.filter { $0.spaceToken == "sp-growth" }.count),
                ("/data_sources/ds-warehouse/datasets", world.datasets.filter { $0.dataSourceToken == "ds-warehouse" && !$0.restricted }.count),
                ("/spaces/sp-empty/datasets", 0),
            ] {
                let reply = try await harness.get(path)
                #expect(reply.status == 200, "\(path)")
                let items = try #require(reply.object["items"] as? [[String: Any]], "\(path)")
                #expect(items.count == expected, "\(path)")
                #expect(reply.object["count"] as? Int == expected, "\(path)")
                #expect(Set(items.compactMap { $0["token"] as? String }).count == expected, "\(path): no duplicates")
                #expect(!reply.body.contains("_links"))
            }
            #expect(world.datasets.filter { $0.dataSourceToken == "ds-warehouse" }.count > 30, "the test must span pages")
        }
    }

    @Test("Schedules of a dataset are listed with the schedule fields")
    func schedules() async throws {
        try await GatewayHarness.with { (harness: GatewayHarness) async throws in
            let reply = try await harness.get("/datasets/ds0001/schedules")
            #expect(reply.status == 200)
            let items = try #require(reply.object["items"] as? [[String: Any]])
            #expect(items.count == 2)
            #expect(items.allSatisfy { $0["report_token"] as? String == "ds0001" && $0["_links"] == nil })
            #expect(reply.object["count"] as? Int == 2)
        }
    }

    @Test("?page=N asks for just that page")
    func singlePage() async throws {
        try await GatewayHarness.with { (harness: GatewayHarness) async throws in
            let all = try await harness.get("/data_sources/ds-warehouse/datasets")
            let total = try #require(all.object["count"] as? Int)
            harness.control.resetRecords()
            let second = try await harness.get("/data_sources/ds-warehouse/datasets?page=2")
            #expect(second.status == 200)
            #expect(second.object["count"] as? Int == min(30, total - 30))
            #expect(harness.control.requestCount == 1)
            #expect(harness.control.requests.first?.query == "page=2")
        }
    }

    @Test("The page cap stops a list safely, and the answer says it is cut short")
    func pageCap() async throws {
        try await GatewayHarness.with(configure: { $0.maxPages = 1 }) { (harness: GatewayHarness) async throws in
            let reply = try await harness.get("/data_sources/ds-warehouse/datasets")
            #expect(reply.status == 200)
            #expect(reply.object["count"] as? Int == 30)
            #expect(reply.object["complete"] as? Bool == false, "a list cut short says so")
            #expect(harness.control.requestCount == 1)
            // The page cap cuts it the same way every time: it is cached, still marked.
            let again = try await harness.get("/data_sources/ds-warehouse/datasets")
            #expect(again.headers["X-Cache"].first == "HIT" && again.object["complete"] as? Bool == false)
            let whole = try await harness.get("/data_sources/ds-warehouse/datasets?page=1")
            #expect(whole.object["complete"] == nil, "one page asked for is whole")
        }
    }

    @Test("A list that runs out of time or budget part way is served as far as it got, marked cut short, and not cached")
    func listOutOfTime() async throws {
        // A standing clock: the second page's token is 2 s away, past the 1 s a call may queue.
        try await GatewayHarness.with(
            time: ManualTimeSource().source,
            configure: {
                $0.upstream.ratePerSecond = 0.5
                $0.upstream.burst = 1
                $0.upstream.maxQueueWait = .seconds(1)
                $0.upstreamTimeout = .seconds(1)
            }
        ) { (harness: GatewayHarness) async throws in
            let reply = try await harness.get("/data_sources/ds-warehouse/datasets")
            #expect(reply.status == 200)
            #expect(reply.object["count"] as? Int == 30 && reply.object["complete"] as? Bool == false)
            #expect(harness.control.requestCount == 1)
            // Cut by the deadline, it is not kept: the next try goes to Mode again (here, to a spent budget).
            let again = try await harness.get("/data_sources/ds-warehouse/datasets")
            #expect(again.headers["X-Cache"].first != "HIT" && again.status == 503)
        }
    }

    @Test("A whole list's deadline grows by a slot of Mode's budget per page, so a long list is read whole")
    func listDeadlineSizedToPages() async throws {
        // 52 items in pages of 10: six pages and the empty seventh, one slot each 100 ms. The
        // last page's slot comes at 600 ms, past a deadline of 250 ms meant for one call; each
        // call still has 250 ms of slack, so a busy machine does not cut the list.
        try await GatewayHarness.with(
            configure: {
                $0.upstream.ratePerSecond = 10
                $0.upstream.burst = 1
                $0.upstreamTimeout = .milliseconds(250)
            },
            simulator: { $0.pageSize = 10 }
        ) { (harness: GatewayHarness) async throws in
            let reply = try await harness.get("/data_sources/ds-warehouse/datasets")
            #expect(reply.status == 200)
            #expect(reply.object["count"] as? Int == 52)
            #expect(reply.object["complete"] == nil, "the list is whole")
            #expect(harness.control.requestCount == 7)
        }
    }

    @Test("filter, order and order_by reach Mode and shape the list")
    func filterAndOrder() async throws {
        try await GatewayHarness.with { (harness: GatewayHarness) async throws in
            let reply = try await harness.get(
                "/spaces/sp-finance/datasets?filter=created_at.gt.2024-01-01T00:00:00Z&order=desc&order_by=created_at"
            )
            #expect(reply.status == 200)
            let items = try #require(reply.object["items"] as? [[String: Any]])
            let created = items.compactMap { $0["created_at"] as? String }
            #expect(!created.isEmpty)
            #expect(created == created.sorted(by: >))
            #expect(created.allSatisfy { $0 > "2024-01-01T00:00:00" })
            let query = try #require(harness.control.requests.first?.query)
            #expect(query.contains("filter=created_at.gt.2024-01-01T00%3A00%3A00Z"))
            #expect(query.contains("order=desc") && query.contains("order_by=created_at"))
        }
    }

    @Test("PATCH sends Mode exactly the given fields under report, and the change is visible")
    func patchDataset() async throws {
        try await GatewayHarness.with { (harness: GatewayHarness) async throws in
            let reply = try await harness.send(.PATCH, "/datasets/ds0002", body: #"{"name":"Renamed","space_token":"sp-growth"}"#)
            #expect(reply.status == 200)
            #expect(reply.object["name"] as? String == "Renamed")
            #expect(reply.object["_forms"] == nil)
            let after = try await harness.get("/datasets/ds0002")
            #expect(after.object["name"] as? String == "Renamed")
            #expect(after.object["space_token"] as? String == "sp-growth")
            let patch = try #require(harness.control.requests.first { $0.method == "PATCH" })
            #expect(patch.path == "/api/demo/datasets/ds0002")
        }
    }

    @Test("Mode receives the operator's basic auth and none of the client's Authorization or Cookie")
    func credentialsInjected() async throws {
        try await GatewayHarness.with { (harness: GatewayHarness) async throws in
            _ = try await harness.get(
                "/datasets/ds0001",
                headers: [("Authorization", "Bearer client-key"), ("Cookie", "session=abc"), ("X-Forwarded-For", "1.2.3.4")]
            )
            _ = try await harness.send(
                .PATCH,
                "/datasets/ds0001",
                headers: [("Authorization", "Bearer client-key"), ("Cookie", "session=abc")],
                body: #"{"description":"x"}"#
            )
            let expected = "Basic " + Data("\(GatewayHarness.token):\(GatewayHarness.secret)".utf8).base64EncodedString()
            let requests = harness.control.requests
            #expect(requests.count == 2)
            for request in requests {
                #expect(request.authorization == expected)
                #expect(!request.headerNames.contains("cookie"))
                #expect(!request.headerNames.contains("x-forwarded-for"))
                #expect(
                    Set(request.headerNames).isSubset(of: [
                        "authorization", "accept", "accept-encoding", "user-agent", "content-type", "content-length", "host", "connection",
                    ])
                )
            }
        }
    }

    @Test("Unknown routes get 404 and wrong methods 405 with Allow, as problems")
    func unknownRouteAndMethod() async throws {
        try await GatewayHarness.with { (harness: GatewayHarness) async throws in
            let missing = try await harness.get("/workbooks/abc")
            #expect(missing.status == 404)
            #expect(missing.headers["Content-Type"].first == "application/problem+json")
            let wrong = try await harness.send(.PUT, "/datasets/ds0001")
            #expect(wrong.status == 405)
            #expect(wrong.headers["Allow"].first == "GET, HEAD, PATCH, DELETE")
            let listWrong = try await harness.send(.POST, "/spaces/sp-finance/datasets")
            #expect(listWrong.status == 405)
            #expect(listWrong.headers["Allow"].first == "GET, HEAD")
            #expect(harness.control.requestCount == 0)
        }
    }
}
