import AsyncHTTPClient
import Foundation
import ModeSimulator
import NIOHTTP1
import Testing

@testable import ModeGateway

/// Every route of the table, driven by the table itself: its path filled with the example
/// tokens the simulator holds, its body made from the fields' examples.
@Suite("Every route of the table, end to end against the simulator")
struct RouteTableEndToEndTests {
    /// Where a parameter's usual example does not fit the route (a dataset's own run).
    static let exampleOverrides: [String: [String: String]] = ["getDatasetRun": ["run": "run10000"]]

    static func example(_ name: String, in route: RouteSpec) -> String {
        Self.exampleOverrides[route.operationID]?[name] ?? RouteTable.pathParameters[name]?.example ?? "x"
    }

    /// The flat path with each parameter's example token.
    static func flatPath(_ route: RouteSpec, replacing bad: String? = nil) -> String {
        var path = route.path
        for name in route.parameters {
            path = path.replacingOccurrences(of: "{\(name)}", with: name == bad ? "bad.token" : Self.example(name, in: route))
        }
        return path
    }

    /// What Mode is asked for: the upstream path with the same tokens.
    static func upstreamPath(_ route: RouteSpec) -> String {
        var path = "/api" + route.upstreamPath.replacingOccurrences(of: "{workspace}", with: "demo")
        for name in route.parameters {
            path = path.replacingOccurrences(of: "{\(name)}", with: Self.example(name, in: route))
        }
        return path
    }

    /// A body with every required field and the first optional one, from their examples.
    static func exampleBody(_ route: RouteSpec) -> String? {
        guard case .fields(_, let fields) = route.body else {
            return route.body == .runParameters ? #"{"parameters":{"rows":2}}"# : nil
        }
        let chosen = fields.filter(\.required) + (fields.first { !$0.required }.map { [$0] } ?? [])
        return "{" + chosen.map { "\"\($0.name)\":\($0.example)" }.joined(separator: ",") + "}"
    }

    /// The query a route needs to answer at all.
    static func exampleQuery(_ route: RouteSpec) -> String {
        let required = route.query.filter(\.required).map { field in
            let end = field.name.hasPrefix("end")
            switch field.kind {
            case .date: return "\(field.name)=\(end ? "2024-02-01" : "2024-01-01")"
            default: return "\(field.name)=\(end ? "2024-02-01T00:00:00Z" : "2024-01-01T00:00:00Z")"
            }
        }
        return required.isEmpty ? "" : "?" + required.joined(separator: "&")
    }

    static func method(_ route: RouteSpec) -> HTTPMethod { HTTPMethod(rawValue: route.method.rawValue) }

    /// Routes whose example names something the simulator does not hold until it is made.
    static let expectedStatus: [String: Int] = ["getReportRunDuplicate": 404]

    @Test("Each route answers plain JSON (or Mode's file) from the right Mode call, with the body Mode wants", arguments: RouteTable.modeRoutes)
    func everyRoute(_ route: RouteSpec) async throws {
        try await GatewayHarness.with(simulator: { $0.runDuration = 0.2 }) { (harness: GatewayHarness) async throws in
            let body = Self.exampleBody(route)
            let reply = try await harness.send(Self.method(route), Self.flatPath(route) + Self.exampleQuery(route), body: body)
            let expected = Self.expectedStatus[route.operationID]
            if let expected {
                #expect(reply.status == expected, "\(reply.body)")
            } else {
                #expect((200..<300).contains(reply.status), "\(route.operationID): \(reply.status) \(reply.body)")
            }
            for member in ["\"_links\"", "\"_forms\"", "\"_embedded\""] { #expect(!reply.body.contains(member), "\(route.operationID)") }
            let calls = harness.control.requests
            let upstream = Self.upstreamPath(route)
            switch route.shape {
            case .results:
                #expect(
                    calls.contains { $0.path.hasPrefix(upstream) && $0.path.hasSuffix("/results/content.json") || $0.path.hasSuffix("content.csv") }
                )
            default:
                #expect(
                    calls.contains { $0.method == route.method.rawValue && $0.path == upstream },
                    "\(route.operationID): \(calls.map { "\($0.method) \($0.path)" })"
                )
            }
            if case .fields(let wrap, let fields) = route.body, let body {
                let sent = calls.first { $0.method == route.method.rawValue }?.body
                #expect(sent == (try RequestBody.fields(wrap: wrap, fields: fields, json: Array(body.utf8))), "\(route.operationID)")
            }
            if route.shape == .binary {
                #expect(reply.headers["Content-Type"].first == "application/pdf")
                #expect(Array(reply.body.utf8.prefix(5)) == Array("%PDF-".utf8))
            }
        }
    }

    @Test("A bad token in any path parameter gets 400, with nothing sent to Mode", arguments: RouteTable.modeRoutes.filter { !$0.parameters.isEmpty })
    func badTokens(_ route: RouteSpec) async throws {
        try await GatewayHarness.with { (harness: GatewayHarness) async throws in
            for name in route.parameters {
                let reply = try await harness.send(Self.method(route), Self.flatPath(route, replacing: name), body: Self.exampleBody(route))
                #expect(
                    reply.status == 400 && reply.object["type"] as? String == "https://mode-gateway.dev/problems/invalid-token",
                    "\(route.operationID) \(name)"
                )
            }
            #expect(harness.control.requestCount == 0)
        }
    }

    @Test(
        "An unknown or mistyped body field gets 400 naming it, with nothing sent to Mode",
        arguments: RouteTable.modeRoutes.filter { $0.body != .none }
    )
    func badBodies(_ route: RouteSpec) async throws {
        try await GatewayHarness.with { (harness: GatewayHarness) async throws in
            var fields: [String] = []
            if let example = Self.exampleBody(route) { fields = [String(example.dropFirst().dropLast())].filter { !$0.isEmpty } }
            let unknown = "{" + (fields + [#""no_such_field":1"#]).joined(separator: ",") + "}"
            let reply = try await harness.send(Self.method(route), Self.flatPath(route), body: unknown)
            #expect(reply.status == 400 && reply.object["field"] as? String == "no_such_field", "\(route.operationID): \(reply.body)")
            if case .fields(_, let all) = route.body, let first = all.first {
                // Every required field present, the first one of the wrong type.
                let wrongValue = first.kind == .string || first.kind == .token ? "42" : "\"text\""
                let others = all.filter { $0.required && $0.name != first.name }.map { "\"\($0.name)\":\($0.example)" }
                let wrong = "{" + (["\"\(first.name)\":\(wrongValue)"] + others).joined(separator: ",") + "}"
                let typed = try await harness.send(Self.method(route), Self.flatPath(route), body: wrong)
                #expect(typed.status == 400 && typed.object["field"] as? String == first.name, "\(route.operationID): \(typed.body)")
            }
            #expect(harness.control.requestCount == 0)
        }
    }

    @Test("A route without a body refuses one", arguments: RouteTable.modeRoutes.filter { $0.method != .get && $0.body == .none })
    func noBody(_ route: RouteSpec) async throws {
        try await GatewayHarness.with { (harness: GatewayHarness) async throws in
            let reply = try await harness.send(Self.method(route), Self.flatPath(route), body: #"{"x":1}"#)
            #expect(reply.status == 400, "\(route.operationID)")
            #expect(harness.control.requestCount == 0)
        }
    }

    /// The cached reads whose tags a write's invalidations name, with the example tokens.
    static func reads(invalidatedBy write: RouteSpec) -> [RouteSpec] {
        let examples = RouteTable.pathParameters.mapValues { Token($0.example) }.compactMapValues { $0 }
        let dropped = Set(write.invalidates.map { PathTemplate($0).render(examples) })
        var seen: Set<String> = []
        return RouteTable.modeRoutes.filter { read in
            // Aliases (/collections/… for /spaces/…) share one entry: read it once.
            read.isCachedRead && !read.cacheTags.map { PathTemplate($0).render(examples) }.filter(dropped.contains).isEmpty
                && seen.insert(Self.upstreamPath(read)).inserted
        }
    }

    @Test(
        "Bodies reach Mode as its spec shapes them",
        arguments: [
            ("createInvite", #"{"email":"a@example.com","message":"Hi"}"#, #"{"invite":{"invitee":{"email":"a@example.com"},"message":"Hi"}}"#),
            ("updateReport", #"{"space_token":"sp-growth","name":"N"}"#, #"{"report":{"name":"N","space_token":"sp-growth"}}"#),
            ("createReportSchedule", #"{"timeout":60,"cron":{"freq":"daily","hour":7}}"#, #"{"cron":{"freq":"daily","hour":7},"timeout":60}"#),
            ("createReportQuery", #"{"raw_query":"SELECT 1","data_source_id":2}"#, #"{"query":{"raw_query":"SELECT 1","data_source_id":2}}"#),
            ("createReportSubscription", #"{"report_links":true,"csv_attachments":false}"#, #"{"csv_attachments":false,"report_links":true}"#),
            ("updateSpace", #"{"name":"Finance"}"#, #"{"space":{"name":"Finance"}}"#),
            ("createGroupMembership", #"{"member_token":"u1"}"#, #"{"membership":{"member_token":"u1"}}"#),
        ]
    )
    func literalBodies(_ operation: String, _ body: String, _ expected: String) async throws {
        let route = try #require(RouteTable.modeRoutes.first { $0.operationID == operation })
        try await GatewayHarness.with { (harness: GatewayHarness) async throws in
            let reply = try await harness.send(Self.method(route), Self.flatPath(route), body: body)
            #expect((200..<300).contains(reply.status), "\(reply.body)")
            #expect(harness.control.requests.first { $0.method == route.method.rawValue }?.body == expected)
        }
    }

    @Test("A write drops every cached read of what it changes: the item, its collection's list, and for a delete all below it")
    func invalidationsCoverTheResource() {
        /// A template with its parameters unnamed, so `/reports/{report}` and `/reports/{dataset}` compare equal.
        func shape(_ template: String) -> String {
            template.split(separator: "/").map { $0.first == "{" ? "{}" : String($0) }.joined(separator: "/")
        }
        func family(_ tag: String) -> Substring { tag.prefix { $0 != "{" } }
        for write in RouteTable.modeRoutes where write.method != .get && write.shape == .object {
            var item = shape(write.upstreamPath)
            // Actions below an item (archive, purge, clone) change the item.
            for action in ["/archive", "/unarchive", "/purge", "/schema_updates"] where item.hasSuffix(action) {
                item = String(item.dropLast(action.count))
            }
            let isItem = item.hasSuffix("/{}")
            let collection = isItem ? String(item.dropLast(3)) : item
            let affected = RouteTable.modeRoutes.filter { read in
                guard read.isCachedRead else { return false }
                let path = shape(read.upstreamPath)
                if path == collection || (isItem && path == item) { return true }
                // Deleting something makes everything below it wrong too.
                return write.method == .delete && isItem && path.hasPrefix(item + "/")
            }
            let dropped = Set(write.invalidates.map(family))
            for read in affected {
                #expect(
                    !dropped.isDisjoint(with: read.cacheTags.map(family)),
                    "\(write.operationID) leaves \(read.operationID) cached (it drops \(write.invalidates.joined(separator: ", ")))"
                )
            }
        }
    }

    @Test("Every tag a write invalidates is carried by some cached read")
    func invalidationsNameRealTags() {
        // Compared by family (`report:` of `report:{report}` and `report:{dataset}`): a tag names one thing whatever its parameter is called.
        func family(_ tag: String) -> Substring { tag.prefix { $0 != "{" } }
        let carried = Set(RouteTable.modeRoutes.flatMap(\.cacheTags).map(family))
        for route in RouteTable.modeRoutes where route.method != .get {
            for tag in route.invalidates {
                #expect(carried.contains(family(tag)), "\(route.operationID) invalidates \(tag), which no read carries")
            }
        }
    }

    @Test(
        "A write drops the cached reads its table entry names",
        arguments: RouteTable.modeRoutes.filter { $0.method != .get && $0.shape == .object }
    )
    func writesInvalidate(_ write: RouteSpec) async throws {
        let reads = Self.reads(invalidatedBy: write).filter { $0.shape != .binary }
        try await GatewayHarness.with { (harness: GatewayHarness) async throws in
            var primed: [String] = []
            for read in reads {
                let path = Self.flatPath(read) + Self.exampleQuery(read)
                _ = try await harness.get(path)
                if try await harness.get(path).headers["X-Cache"].first == "HIT" { primed.append(path) }
            }
            let reply = try await harness.send(Self.method(write), Self.flatPath(write) + Self.exampleQuery(write), body: Self.exampleBody(write))
            #expect((200..<300).contains(reply.status), "\(write.operationID): \(reply.body)")
            for path in primed {
                #expect(try await harness.get(path).headers["X-Cache"].first != "HIT", "\(write.operationID) left \(path) cached")
            }
            #expect(!primed.isEmpty || reads.isEmpty, "\(write.operationID): nothing it invalidates could be cached")
        }
    }
}

extension RouteSpec: CustomTestStringConvertible {
    public var testDescription: String { "\(self.method.rawValue) \(self.path)" }
}
