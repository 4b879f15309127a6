import Foundation
import ModeGateway
import ModeSimulator
import NIOHTTP1
import Testing

@Suite("The cache, end to end against the simulator")
struct CacheEndToEndTests {
    @Test(
        "A second read of any cached route makes no upstream call",
        arguments: [
            "/datasets/ds0001", "/datasets/ds0001/schedules", "/spaces/sp-finance/datasets", "/collections/sp-finance/datasets",
            "/data_sources/ds-postgres/datasets?order=desc",
        ]
    )
    func secondReadIsAHit(path: String) async throws {
        try await GatewayHarness.with { (harness: GatewayHarness) async throws in
            let first = try await harness.get(path)
            #expect(first.headers["X-Cache"].first == "MISS")
            let calls = harness.control.requestCount
            #expect(calls >= 1)
            let second = try await harness.get(path)
            #expect(second.status == 200)
            #expect(second.headers["X-Cache"].first == "HIT")
            #expect(second.body == first.body)
            #expect(second.headers["ETag"].first == first.headers["ETag"].first)
            #expect(second.headers["Age"].first != nil)
            #expect(second.headers["Cache-Control"].first?.hasPrefix("private, max-age=") == true)
            #expect(harness.control.requestCount == calls)
        }
    }

    @Test("50 concurrent cold reads of one key make one upstream call")
    func coalescedColdReads() async throws {
        try await GatewayHarness.with { (harness: GatewayHarness) async throws in
            harness.control.setFault(FaultPlan(.delay(milliseconds: 300), count: 1))
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<50 { group.addTask { try await harness.get("/datasets/ds0007").status } }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses == Array(repeating: 200, count: 50))
            #expect(harness.control.requestCount == 1)
        }
    }

    @Test("With the upstream stopped, cached data is still served, marked STALE")
    func staleWhenUpstreamIsDown() async throws {
        let clock = ManualTimeSource()
        try await GatewayHarness.with(time: clock.source, configure: { $0.connectTimeout = .milliseconds(500) }) {
            (harness: GatewayHarness) async throws in
            let fresh = try await harness.get("/spaces/sp-finance/datasets")
            #expect(fresh.status == 200)
            await harness.simulator.stop()
            clock.advance(by: .seconds(600))  // past TTL and the SWR window: a refresh is needed
            let stale = try await harness.get("/spaces/sp-finance/datasets")
            #expect(stale.status == 200)
            #expect(stale.headers["X-Cache"].first == "STALE")
            #expect(stale.body == fresh.body)
            #expect(stale.headers["Age"].first == "600")
            // Not cached at all: the outage shows.
            #expect(try await harness.get("/datasets/ds0001").status == 502)
        }
    }

    @Test(
        "Injected faults are ridden out with stale entries",
        arguments: [
            SimulatorFault.status(500, retryAfterSeconds: nil), .status(429, retryAfterSeconds: 1), .brokenJSON, .drop,
            .delay(milliseconds: 5000),
        ]
    )
    func staleOnFaults(fault: SimulatorFault) async throws {
        let clock = ManualTimeSource()
        try await GatewayHarness.with(time: clock.source, configure: { $0.upstreamTimeout = .seconds(1) }) {
            (harness: GatewayHarness) async throws in
            #expect(try await harness.get("/datasets/ds0001").status == 200, "the entry to fall back on")
            harness.control.setFault(FaultPlan(fault))
            clock.advance(by: .seconds(120))
            let reply = try await harness.get("/datasets/ds0001")
            #expect(reply.status == 200, "\(fault)")
            #expect(reply.headers["X-Cache"].first == "STALE", "\(fault)")
        }
    }

    @Test("Spellings of the same list share one cache entry; Mode gets each as written")
    func canonicalKeys() async throws {
        try await GatewayHarness.with { (harness: GatewayHarness) async throws in
            let spellings = [
                "filter=created_at.gt.2024-01-01T00:00:00Z&order=asc",
                "filter=created_at.gt.2024-01-01T00:00:00.000Z",
                "order_by=created_at&filter=created_at.gt.2024-01-01T01:00:00%2B01:00",
                "filter=created_at.gt.2023-12-31T19:00:00-05:00&order=asc&order_by=created_at",
            ]
            var statuses: [String] = []
            for spelling in spellings {
                statuses.append(try await harness.get("/data_sources/ds-warehouse/datasets?" + spelling).headers["X-Cache"].first ?? "")
            }
            #expect(statuses == ["MISS", "HIT", "HIT", "HIT"])
            #expect(harness.control.requests.first?.query?.contains("2024-01-01T00%3A00%3A00Z") == true)
            let later = try await harness.get("/data_sources/ds-warehouse/datasets?filter=created_at.gt.2024-01-01T00:00:01Z")
            #expect(later.headers["X-Cache"].first == "MISS", "another instant is another list")
            #expect(try await harness.get("/data_sources/ds-warehouse/datasets?order=desc").headers["X-Cache"].first == "MISS")
        }
    }

    @Test(
        "A write whose outcome is unknown, or whose answer is unreadable, still drops the cached past",
        arguments: [SimulatorFault.drop, .brokenJSON, .status(500, retryAfterSeconds: nil), .delay(milliseconds: 3000)]
    )
    func unknownWriteOutcome(fault: SimulatorFault) async throws {
        try await GatewayHarness.with(configure: { $0.upstreamTimeout = .seconds(1) }) { (harness: GatewayHarness) async throws in
            _ = try await harness.get("/datasets/ds0001")
            #expect(try await harness.get("/datasets/ds0001").headers["X-Cache"].first == "HIT")
            harness.control.setFault(FaultPlan(fault, count: 1))
            let write = try await harness.send(.PATCH, "/datasets/ds0001", body: #"{"name":"Maybe applied"}"#)
            #expect((500..<600).contains(write.status), "\(fault): \(write.status)")
            #expect(try await harness.get("/datasets/ds0001").headers["X-Cache"].first == "MISS", "\(fault)")
        }
    }

    @Test("A PATCH is visible to the very next read of the dataset, its lists and its schedules")
    func patchInvalidates() async throws {
        try await GatewayHarness.with { (harness: GatewayHarness) async throws in
            let paths = ["/datasets/ds0001", "/spaces/sp-finance/datasets", "/data_sources/ds-warehouse/datasets", "/datasets/ds0001/schedules"]
            for path in paths { #expect(try await harness.get(path).status == 200) }
            for path in paths { #expect(try await harness.get(path).headers["X-Cache"].first == "HIT") }
            let patched = try await harness.send(.PATCH, "/datasets/ds0001", body: #"{"name":"Fresh name"}"#)
            #expect(patched.status == 200)
            #expect(patched.headers["ETag"].first != nil)
            for path in paths {
                let reply = try await harness.get(path)
                #expect(reply.headers["X-Cache"].first == "MISS", "\(path)")
                #expect(reply.body.contains("Fresh name"), "\(path)")
            }
        }
    }

    @Test("A failed PATCH invalidates nothing")
    func failedPatchKeepsCache() async throws {
        try await GatewayHarness.with { (harness: GatewayHarness) async throws in
            _ = try await harness.get("/datasets/ds0001")
            _ = try await harness.get("/spaces/sp-finance/datasets")
            #expect(try await harness.send(.PATCH, "/datasets/ds0001", body: #"{"space_token":"sp-nowhere"}"#).status == 400)
            #expect(try await harness.send(.PATCH, "/datasets/ds0001", body: #"{"bad":1}"#).status == 400)
            #expect(try await harness.get("/datasets/ds0001").headers["X-Cache"].first == "HIT")
            #expect(try await harness.get("/spaces/sp-finance/datasets").headers["X-Cache"].first == "HIT")
        }
    }

    @Test("If-None-Match with the current ETag gets a 304 with no body")
    func conditionalGet() async throws {
        try await GatewayHarness.with { (harness: GatewayHarness) async throws in
            let first = try await harness.get("/datasets/ds0001")
            let etag = try #require(first.headers["ETag"].first)
            #expect(etag.hasPrefix("\"") && etag.count == 34)
            let notModified = try await harness.get("/datasets/ds0001", headers: [("If-None-Match", etag)])
            #expect(notModified.status == 304)
            #expect(notModified.body.isEmpty)
            #expect(notModified.headers["ETag"].first == etag)
            let changed = try await harness.get("/datasets/ds0001", headers: [("If-None-Match", "\"something-else\"")])
            #expect(changed.status == 200 && !changed.body.isEmpty)
            // A write is never answered 304, and its answer is not a cache answer.
            let write = try await harness.send(.PATCH, "/datasets/ds0001", headers: [("If-None-Match", "*")], body: #"{"name":"x"}"#)
            #expect(write.status == 200 && !write.body.isEmpty)
            #expect(write.headers["X-Cache"].isEmpty && write.headers["ETag"].first != nil)
            #expect(write.headers["Cache-Control"].first == "no-store")
        }
    }

    @Test("Cache-Control: no-cache skips the lookup and refreshes the entry")
    func noCache() async throws {
        try await GatewayHarness.with { (harness: GatewayHarness) async throws in
            _ = try await harness.get("/datasets/ds0001")
            let bypass = try await harness.get("/datasets/ds0001", headers: [("Cache-Control", "no-cache")])
            #expect(bypass.headers["X-Cache"].first == "BYPASS")
            #expect(harness.control.requestCount == 2)
            #expect(try await harness.get("/datasets/ds0001").headers["X-Cache"].first == "HIT")
        }
    }

    @Test("DELETE /cache drops everything, or one path's entries, and says how many")
    func purge() async throws {
        try await GatewayHarness.with { (harness: GatewayHarness) async throws in
            for path in ["/datasets/ds0001", "/datasets/ds0002", "/spaces/sp-growth/datasets"] { _ = try await harness.get(path) }
            let one = try await harness.send(.DELETE, "/cache?path=/datasets/ds0001")
            #expect(one.status == 200)
            #expect(one.object["removed"] as? Int == 1)
            #expect(try await harness.get("/datasets/ds0001").headers["X-Cache"].first == "MISS")
            let all = try await harness.send(.DELETE, "/cache")
            #expect(all.object["removed"] as? Int == 3)
            #expect(try await harness.get("/datasets/ds0002").headers["X-Cache"].first == "MISS")
            #expect(try await harness.send(.DELETE, "/cache?path=/nowhere").status == 400)
            #expect(try await harness.send(.DELETE, "/cache?what=1").status == 400)
        }
    }

    @Test("CACHE_TTL_SECONDS=0 turns the cache off")
    func cacheOff() async throws {
        try await GatewayHarness.with(configure: { $0.cache.ttl = .zero }) { (harness: GatewayHarness) async throws in
            let first = try await harness.get("/datasets/ds0001")
            let second = try await harness.get("/datasets/ds0001")
            #expect(first.headers["X-Cache"].first == "BYPASS" && second.headers["X-Cache"].first == "BYPASS")
            #expect(second.headers["ETag"].first == first.headers["ETag"].first)
            #expect(harness.control.requestCount == 2)
        }
    }
}
