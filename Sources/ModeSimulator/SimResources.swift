import Foundation
import Hummingbird
import NIOCore
import Synchronization

/// The rest of Mode's API as data: each kind of resource is a collection path, an item
/// parameter, the `_embedded` key of its lists, the key Mode wraps its bodies in, the methods it
/// takes, and the items it starts with. One engine serves them all in Mode's shapes (HAL links,
/// forms, an embedded creator, pages of 30) with state for the writes.
struct SimResourceKind: Sendable {
    enum Operation: Sendable { case list, create, get, update, delete }

    /// Below `/api`, with `{workspace}` and the parents' parameters.
    var collection: String
    /// The path parameter that names one item; nil for a kind without item routes.
    var item: String?
    var itemsKey: String
    /// The key Mode wraps a body in; nil for a flat body.
    var wrap: String?
    var operations: Set<Operation>
    /// `POST` updates an item (spaces) rather than `PATCH`.
    var updatesWithPost = false
    /// `DELETE` answers 200 with no body (reports' schedules and subscriptions), rather than the item.
    var deleteAnswersEmpty = false
    /// A deleted item stays, soft deleted, and answers 403 (collections).
    var softDelete = false
    /// The items a collection starts with, from its parents' tokens.
    var seed: @Sendable (_ parents: [String: String]) -> [[(String, JSONValue)]]

    /// Every kind the simulator serves through the engine.
    static let all: [SimResourceKind] = [
        SimResourceKind(
            collection: "{workspace}/spaces",
            item: "space",
            itemsKey: "spaces",
            wrap: "space",
            operations: [.list, .create, .get, .update, .delete],
            updatesWithPost: true,
            softDelete: true,
            seed: { _ in
                [("sp-finance", "Finance"), ("sp-growth", "Growth"), ("sp-product", "Product Analytics"), ("sp-empty", "Archive")].map {
                    token,
                    name in
                    [
                        ("token", .string(token)), ("name", .string(name)), ("description", .string("\(name) collection")),
                        ("space_type", .string("custom")), ("state", .string("active")),
                    ]
                }
            }
        ),
        SimResourceKind(
            collection: "{workspace}/spaces/{space}/memberships",
            item: "space_membership",
            itemsKey: "space_memberships",
            wrap: "membership",
            operations: [.list, .create, .get, .delete],
            seed: { _ in [[("token", .string("sm1")), ("member_type", .string("User")), ("member_token", .string("u-analyst"))]] }
        ),
        SimResourceKind(
            collection: "{workspace}/data_sources",
            item: "data_source",
            itemsKey: "data_sources",
            wrap: "data_source",
            operations: [.list, .get, .update],
            seed: { _ in
                [("ds-warehouse", "Snowflake warehouse", "jdbc:snowflake"), ("ds-postgres", "Product Postgres", "jdbc:postgresql")].map {
                    token,
                    name,
                    adapter in
                    [
                        ("token", .string(token)), ("name", .string(name)), ("description", .string("")), ("adapter", .string(adapter)),
                        ("queryable", .bool(true)),
                    ]
                }
            }
        ),
        SimResourceKind(
            collection: "{workspace}/definitions",
            item: "definition",
            itemsKey: "definitions",
            wrap: "definition",
            operations: [.list, .create, .get, .update, .delete],
            seed: { _ in
                [
                    [
                        ("token", .string("def1")), ("name", .string("active_users")), ("description", .string("Users active in the last 30 days")),
                        ("source", .string("SELECT * FROM users WHERE active")),
                    ]
                ]
            }
        ),
        SimResourceKind(
            collection: "{workspace}/memberships",
            item: "membership",
            itemsKey: "memberships",
            wrap: nil,
            operations: [.list, .get, .delete],
            seed: { _ in
                ["analyst", "engineer", "viewer"].enumerated().map { index, name in
                    [("token", .string("mem\(index + 1)")), ("member_username", .string(name)), ("admin", .bool(index == 0))]
                }
            }
        ),
        SimResourceKind(collection: "{workspace}/invites", item: nil, itemsKey: "invites", wrap: "invite", operations: [.create], seed: { _ in [] }),
        SimResourceKind(
            collection: "{workspace}/groups",
            item: "group_token",
            itemsKey: "user_groups",
            wrap: "user_group",
            operations: [.list, .create, .get, .update, .delete],
            seed: { _ in [[("token", .string("grp1")), ("name", .string("Analysts"))], [("token", .string("grp2")), ("name", .string("Finance"))]] }
        ),
        SimResourceKind(
            collection: "{workspace}/groups/{group_token}/memberships",
            item: "membership_token",
            itemsKey: "user_group_memberships",
            wrap: "membership",
            operations: [.list, .create, .get, .delete],
            seed: { _ in [[("token", .string("gm1")), ("member_token", .string("u-analyst"))]] }
        ),
        SimResourceKind(
            collection: "{workspace}/reports/{report}/queries",
            item: "query",
            itemsKey: "queries",
            wrap: "query",
            operations: [.list, .create, .get, .update, .delete],
            seed: { _ in [] }  // from the report's own queries; see ModeSimulator.seedQueries
        ),
        SimResourceKind(
            collection: "{workspace}/reports/{report}/queries/{query}/charts",
            item: "chart",
            itemsKey: "charts",
            wrap: nil,
            operations: [.list, .get],
            seed: { parents in [[("token", .string("ch1")), ("view_type", .string("bar")), ("query_token", .string(parents["query"] ?? ""))]] }
        ),
        SimResourceKind(
            collection: "{workspace}/reports/{report}/filters",
            item: "filter",
            itemsKey: "report_filters",
            wrap: "report_filter",
            operations: [.list, .create, .get, .update, .delete],
            seed: { _ in
                [
                    [
                        ("token", .string("flt1")), ("name", .string("Region")), ("formula", .string("[region]")), ("filter_type", .string("MULTI")),
                        ("control_type", .string("LIST")),
                    ]
                ]
            }
        ),
        SimResourceKind(
            collection: "{workspace}/reports/{report}/subscriptions",
            item: "subscription",
            itemsKey: "report_subscriptions",
            wrap: nil,
            operations: [.list, .create, .get, .update, .delete],
            deleteAnswersEmpty: true,
            seed: { _ in [[("token", .string("sub1")), ("csv_attachments", .bool(false)), ("report_links", .bool(true))]] }
        ),
        SimResourceKind(
            collection: "{workspace}/reports/{report}/schedules",
            item: "schedule",
            itemsKey: "report_schedules",
            wrap: nil,
            operations: [.list, .create, .get, .update, .delete],
            deleteAnswersEmpty: true,
            seed: { _ in
                [
                    [
                        ("token", .string("rsch1")), ("name", .string("Weekly")),
                        ("cron", .object([("freq", .string("weekly")), ("day_of_week", .int(1)), ("hour", .int(7))])), ("timeout", .int(900)),
                    ]
                ]
            }
        ),
        SimResourceKind(
            collection: "{workspace}/reports/{report}/schedules/{schedule}/subscriptions",
            item: nil,
            itemsKey: "report_subscriptions",
            wrap: nil,
            operations: [.list],
            seed: { _ in [[("token", .string("sub1")), ("csv_attachments", .bool(true))]] }
        ),
        SimResourceKind(
            collection: "{workspace}/datasets/{dataset}/fields",
            item: nil,
            itemsKey: "fields",
            wrap: nil,
            operations: [.list],
            seed: { _ in
                [("id", "integer"), ("day", "date"), ("region", "string"), ("amount", "number"), ("note", "string")].map { name, type in
                    [("token", .string("f-\(name)")), ("name", .string(name)), ("data_type", .string(type))]
                }
            }
        ),
        SimResourceKind(
            collection: "{workspace}/datasets/{dataset}/field_descriptions",
            item: "field_description",
            itemsKey: "field_descriptions",
            wrap: "field_description",
            operations: [.list, .create, .update, .delete],
            seed: { _ in [[("token", .string("fd1")), ("name", .string("amount")), ("desc", .string("Order amount in dollars"))]] }
        ),
        SimResourceKind(
            collection: "{workspace}/reports/{report}/runs/{run}/duplicates",
            item: "duplicate",
            itemsKey: "duplicates",
            wrap: nil,
            operations: [.create, .get],
            seed: { _ in [] }
        ),
    ]
}

/// The engine's state: the items of each concrete collection, seeded on first use.
final class SimResourceStore: Sendable {
    struct Item: Sendable {
        var token: String
        var fields: [(String, JSONValue)]
        var deleted = false

        subscript(name: String) -> JSONValue? { self.fields.first { $0.0 == name }?.1 }
    }

    private let collections = Mutex<[String: [Item]]>([:])

    /// Runs `body` on one collection's items, seeding them first.
    func with<Result>(_ path: String, seed: () -> [[(String, JSONValue)]], _ body: (inout [Item]) -> Result) -> Result {
        self.collections.withLock { collections in
            if collections[path] == nil {
                collections[path] = seed().map { fields in
                    if case .string(let token) = fields.first(where: { $0.0 == "token" })?.1 {
                        return Item(token: token, fields: fields.filter { $0.0 != "token" })
                    }
                    return Item(token: "x", fields: fields)
                }
            }
            return body(&collections[path, default: []])
        }
    }
}

extension ModeSimulator {
    /// Registers every kind's routes on the `/api` group.
    func addResourceRoutes(to api: RouterGroup<SimulatorContext>) {
        for kind in SimResourceKind.all {
            let collection = RouterPath(kind.collection)
            if kind.operations.contains(.list) {
                api.get(collection) { request, context in
                    try await self.serve(request, context) { world in self.listResources(kind, request: request, context: context, world: world) }
                }
            }
            if kind.operations.contains(.create) {
                api.post(collection) { request, context in
                    let body = try await request.body.collect(upTo: 1 << 20)
                    return try await self.serve(request, context, body: body) { world in
                        self.createResource(kind, body: body, context: context, world: world)
                    }
                }
            }
            guard let item = kind.item else { continue }
            let itemPath = RouterPath(kind.collection + "/{" + item + "}")
            if kind.operations.contains(.get) {
                api.get(itemPath) { request, context in
                    try await self.serve(request, context) { world in self.resource(kind, context: context, world: world) { .ok($0) } }
                }
            }
            if kind.operations.contains(.update) {
                let handler: @Sendable (Request, SimulatorContext) async throws -> Response = { request, context in
                    let body = try await request.body.collect(upTo: 1 << 20)
                    return try await self.serve(request, context, body: body) { world in
                        self.updateResource(kind, body: body, context: context, world: world)
                    }
                }
                if kind.updatesWithPost { api.post(itemPath, use: handler) } else { api.patch(itemPath, use: handler) }
            }
            if kind.operations.contains(.delete) {
                api.delete(itemPath) { request, context in
                    try await self.serve(request, context) { world in self.deleteResource(kind, context: context, world: world) }
                }
            }
        }
    }

    /// The concrete collection path and the parents' tokens, or Mode's 404 for a missing parent.
    private func locate(_ kind: SimResourceKind, context: SimulatorContext, world: SimulatorWorld) -> Result<(String, [String: String]), SimFailure> {
        var path = "/api"
        var parents: [String: String] = [:]
        for segment in kind.collection.split(separator: "/") {
            guard segment.first == "{" else {
                path += "/" + segment
                continue
            }
            let name = String(segment.dropFirst().dropLast())
            let value = context.parameters.get(name) ?? ""
            if name != "workspace" {
                let exists: Bool
                switch name {
                case "report": exists = world.report(value).map { !$0.restricted } ?? false
                case "dataset": exists = world.datasets.contains { $0.token == value && !$0.restricted }
                case "run": exists = world.runs.contains { $0.token == value && $0.reportToken == parents["report"] }
                default:
                    // A parent that is itself a resource: look it up in its own collection.
                    let parentKind = SimResourceKind.all.first { $0.item == name && kind.collection.hasPrefix($0.collection + "/") }
                    exists =
                        parentKind.map { parentKind in
                            self.resources.with(path, seed: { self.seed(parentKind, parents: parents, world: world) }) { items in
                                items.contains { $0.token == value && !$0.deleted }
                            }
                        } ?? false
                }
                guard exists else {
                    return .failure(SimFailure(status: .notFound, message: "\(name.replacingOccurrences(of: "_", with: " ").capitalized) not found"))
                }
                parents[name] = value
            }
            path += "/" + value
        }
        return .success((path, parents))
    }

    private func seed(_ kind: SimResourceKind, parents: [String: String], world: SimulatorWorld) -> [[(String, JSONValue)]] {
        if kind.itemsKey == "queries", let report = parents["report"].flatMap(world.report) {
            return report.queries.map { query in
                [("token", .string(query.token)), ("name", .string(query.name)), ("raw_query", .string(query.rawQuery)), ("data_source_id", .int(1))]
            }
        }
        return kind.seed(parents)
    }

    private func render(_ item: SimResourceStore.Item, kind: SimResourceKind, collectionPath: String) -> JSONValue {
        let itemPath = collectionPath + "/" + item.token
        // Mode never shows a data source's password back.
        var members: [(String, JSONValue)] = [("token", .string(item.token))] + item.fields.filter { $0.0 != "password" }
        members.append(("created_at", .string(SimTime.iso8601(1_700_000_000))))
        var links: [(String, JSONValue)] = [("self", self.renderer.link(kind.item == nil ? collectionPath : itemPath))]
        links.append(("web", self.renderer.link("https://app.mode.com" + itemPath.dropFirst(4))))
        links.append(("collection", self.renderer.link(collectionPath + "{?page}", templated: true)))
        members.append(("_links", .object(links)))
        if kind.item != nil {
            var forms: [(String, JSONValue)] = []
            if kind.operations.contains(.update) {
                forms.append(("edit", .object([("method", .string(kind.updatesWithPost ? "post" : "patch")), ("action", .string(itemPath))])))
            }
            if kind.operations.contains(.delete) {
                forms.append(("destroy", .object([("method", .string("delete")), ("action", .string(itemPath))])))
            }
            if !forms.isEmpty { members.append(("_forms", .object(forms))) }
        }
        members.append(
            (
                "_embedded",
                .object([
                    ("creator", .object([("username", .string("analyst")), ("_links", .object([("self", self.renderer.link("/api/analyst"))]))]))
                ])
            )
        )
        return .object(members)
    }

    private func listResources(_ kind: SimResourceKind, request: Request, context: SimulatorContext, world: SimulatorWorld) -> Answer {
        switch self.locate(kind, context: context, world: world) {
        case .failure(let failure): return failure.answer
        case .success(let (path, parents)):
            var items = self.resources.with(path, seed: { self.seed(kind, parents: parents, world: world) }) { $0.filter { !$0.deleted } }
            // Mode lists only the caller's own collections unless asked for all of them.
            if kind.itemsKey == "spaces", request.uri.queryParameters["filter"] != "all" { items = Array(items.prefix(2)) }
            return self.page(
                of: items.map { self.render($0, kind: kind, collectionPath: path) },
                itemsKey: kind.itemsKey,
                selfPath: path,
                request: request
            )
        }
    }

    private func resource(
        _ kind: SimResourceKind,
        context: SimulatorContext,
        world: SimulatorWorld,
        _ answer: (JSONValue) -> Answer
    ) -> Answer {
        switch self.locate(kind, context: context, world: world) {
        case .failure(let failure): return failure.answer
        case .success(let (path, parents)):
            let token = context.parameters.get(kind.item ?? "") ?? ""
            let item = self.resources.with(path, seed: { self.seed(kind, parents: parents, world: world) }) { items in
                items.first { $0.token == token }
            }
            guard let item else { return SimFailure(status: .notFound, message: "Not found").answer }
            if item.deleted {
                // A freshly (soft) deleted collection answers 403, as Mode's do.
                return SimFailure(status: .forbidden, message: "This collection has been deleted").answer
            }
            return answer(self.render(item, kind: kind, collectionPath: path))
        }
    }

    /// The body's fields, unwrapped from the kind's key; nil when the body is not what Mode takes.
    private func fields(of body: ByteBuffer, kind: SimResourceKind) -> [(String, JSONValue)]? {
        guard body.readableBytes > 0 else { return kind.wrap == nil ? [] : nil }
        guard let parsed = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any] else { return nil }
        let object: [String: Any]
        if let wrap = kind.wrap {
            guard parsed.count == 1, let inner = parsed[wrap] as? [String: Any] else { return nil }
            object = inner
        } else {
            object = parsed
        }
        return object.keys.sorted().compactMap { key in
            guard key != "token", let value = object[key],
                let text = try? JSONSerialization.data(withJSONObject: ["v": value], options: [.sortedKeys, .withoutEscapingSlashes])
            else { return nil }
            // Keep the value's JSON text as the client's body gave it ({"v": …} stripped).
            let json = String(decoding: text, as: UTF8.self).dropFirst(5).dropLast()
            return (key, .raw(String(json)))
        }
    }

    private func createResource(_ kind: SimResourceKind, body: ByteBuffer, context: SimulatorContext, world: SimulatorWorld) -> Answer {
        switch self.locate(kind, context: context, world: world) {
        case .failure(let failure): return failure.answer
        case .success(let (path, parents)):
            guard let fields = self.fields(of: body, kind: kind) else {
                return SimFailure(status: .badRequest, message: "param is missing or the value is empty: \(kind.wrap ?? "body")").answer
            }
            let item = self.resources.with(path, seed: { self.seed(kind, parents: parents, world: world) }) { items -> SimResourceStore.Item in
                let item = SimResourceStore.Item(token: "new\(items.count + 1)-\(UInt32.random(in: 0...UInt32.max) % 100_000)", fields: fields)
                items.append(item)
                return item
            }
            return .ok(self.render(item, kind: kind, collectionPath: path))
        }
    }

    private func updateResource(_ kind: SimResourceKind, body: ByteBuffer, context: SimulatorContext, world: SimulatorWorld) -> Answer {
        switch self.locate(kind, context: context, world: world) {
        case .failure(let failure): return failure.answer
        case .success(let (path, parents)):
            guard let fields = self.fields(of: body, kind: kind) else {
                return SimFailure(status: .badRequest, message: "param is missing or the value is empty: \(kind.wrap ?? "body")").answer
            }
            let token = context.parameters.get(kind.item ?? "") ?? ""
            let updated = self.resources.with(path, seed: { self.seed(kind, parents: parents, world: world) }) { items -> SimResourceStore.Item? in
                guard let index = items.firstIndex(where: { $0.token == token && !$0.deleted }) else { return nil }
                for (name, value) in fields {
                    if let at = items[index].fields.firstIndex(where: { $0.0 == name }) {
                        items[index].fields[at].1 = value
                    } else {
                        items[index].fields.append((name, value))
                    }
                }
                return items[index]
            }
            guard let updated else { return SimFailure(status: .notFound, message: "Not found").answer }
            return .ok(self.render(updated, kind: kind, collectionPath: path))
        }
    }

    private func deleteResource(_ kind: SimResourceKind, context: SimulatorContext, world: SimulatorWorld) -> Answer {
        switch self.locate(kind, context: context, world: world) {
        case .failure(let failure): return failure.answer
        case .success(let (path, parents)):
            let token = context.parameters.get(kind.item ?? "") ?? ""
            let removed = self.resources.with(path, seed: { self.seed(kind, parents: parents, world: world) }) { items -> SimResourceStore.Item? in
                guard let index = items.firstIndex(where: { $0.token == token && !$0.deleted }) else { return nil }
                if kind.softDelete {
                    items[index].deleted = true
                    items[index].fields.removeAll { $0.0 == "state" }
                    items[index].fields.append(("state", .string("soft_deleted")))
                    return items[index]
                }
                return items.remove(at: index)
            }
            guard let removed else { return SimFailure(status: .notFound, message: "Not found").answer }
            return kind.deleteAnswersEmpty ? .empty(.ok) : .ok(self.render(removed, kind: kind, collectionPath: path))
        }
    }
}

/// A Mode error answer.
struct SimFailure: Error {
    var status: HTTPResponse.Status
    var message: String

    var answer: ModeSimulator.Answer {
        let id = self.status == .notFound ? "not_found" : self.status == .forbidden ? "forbidden" : "bad_request"
        return .failure(self.status, HALRenderer.error(id: id, message: self.message))
    }
}
