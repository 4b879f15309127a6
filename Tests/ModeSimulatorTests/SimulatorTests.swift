import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import ModeSimulator

@Suite("The Mode simulator")
struct SimulatorTests {
    let simulator = ModeSimulator(configuration: .init(workspace: "demo", token: "t", secret: "s"))
    let auth = "Basic " + Data("t:s".utf8).base64EncodedString()

    func json(_ buffer: ByteBuffer) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any])
    }

    @Test("Timestamps round-trip through ISO 8601")
    func time() {
        for seconds in [0, 1_700_000_000, 951_782_400, -86_400] {
            #expect(SimTime.parse(SimTime.iso8601(seconds)) == Double(seconds))
        }
        #expect(SimTime.iso8601(1_700_000_000) == "2023-11-14T22:13:20.000Z")
        #expect(SimTime.parse("2023-11-14T23:13:20+01:00") == 1_700_000_000)
    }

    @Test("Refuses requests without the right basic auth, as Mode does")
    func unauthorized() async throws {
        try await Application(router: self.simulator.buildRouter()).test(.router) { client in
            let response = try await client.execute(uri: "/api/demo/datasets/ds0001", method: .get, headers: [.authorization: "Basic eDp5"])
            #expect(response.status == .unauthorized)
            let body = try self.json(response.body)
            #expect(body["id"] as? String == "unauthorized")
        }
    }

    @Test("Pages lists by 30 and gives next_page only sometimes")
    func paging() async throws {
        try await Application(router: self.simulator.buildRouter()).test(.router) { client in
            var seen: [String] = []
            var nextLinks: [Bool] = []
            for page in 1...5 {
                let response = try await client.execute(
                    uri: "/api/demo/data_sources/ds-warehouse/datasets?page=\(page)",
                    method: .get,
                    headers: [.authorization: self.auth]
                )
                #expect(response.status == .ok)
                let body = try self.json(response.body)
                let items = try #require((body["_embedded"] as? [String: Any])?["reports"] as? [[String: Any]])
                #expect(items.count <= 30)
                seen += items.compactMap { $0["token"] as? String }
                nextLinks.append((body["_links"] as? [String: Any])?["next_page"] != nil)
            }
            let expected = self.simulator.store.snapshot.datasets.filter { $0.dataSourceToken == "ds-warehouse" && !$0.restricted }.count
            #expect(seen.count == expected)
            #expect(Set(seen).count == expected)
            #expect(nextLinks.contains(true) && nextLinks.contains(false))
        }
    }

    @Test("Honours filter and order")
    func filterAndOrder() async throws {
        try await Application(router: self.simulator.buildRouter()).test(.router) { client in
            let response = try await client.execute(
                uri: "/api/demo/spaces/sp-growth/datasets?filter=updated_at.lt.2024-01-01T00:00:00Z&order=desc&order_by=updated_at",
                method: .get,
                headers: [.authorization: self.auth]
            )
            let body = try self.json(response.body)
            let items = try #require((body["_embedded"] as? [String: Any])?["reports"] as? [[String: Any]])
            let updated = items.compactMap { $0["updated_at"] as? String }
            #expect(!updated.isEmpty)
            #expect(updated == updated.sorted(by: >))
            #expect(updated.allSatisfy { $0 < "2024-01-01" })
        }
    }

    @Test("PATCH changes its state, and a fault applies to the next requests only")
    func patchAndFaults() async throws {
        try await Application(router: self.simulator.buildRouter()).test(.router) { client in
            try await client.execute(
                uri: "/api/demo/datasets/ds0003",
                method: .patch,
                headers: [.authorization: self.auth],
                body: ByteBuffer(string: #"{"report":{"name":"New"}}"#)
            ) { #expect($0.status == .ok) }
            #expect(self.simulator.store.snapshot.datasets.first { $0.token == "ds0003" }?.name == "New")
            self.simulator.control.setFault(FaultPlan(.status(503, retryAfterSeconds: 2), count: 1))
            try await client.execute(uri: "/api/demo/datasets/ds0003", method: .get, headers: [.authorization: self.auth]) {
                #expect($0.status == .serviceUnavailable)
                #expect($0.headers[.retryAfter] == "2")
            }
            try await client.execute(uri: "/api/demo/datasets/ds0003", method: .get, headers: [.authorization: self.auth]) {
                #expect($0.status == .ok)
            }
        }
    }
}
