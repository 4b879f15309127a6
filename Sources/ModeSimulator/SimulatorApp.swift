import Foundation
import Hummingbird
import Logging
import NIOCore

/// The simulator's settings.
public struct SimulatorConfiguration: Sendable {
    /// The workspace the simulator serves; any other answers 404.
    public var workspace: String
    /// The API token and secret it accepts, as HTTP basic auth.
    public var token: String
    public var secret: String
    /// Items per page, as Mode (about 30).
    public var pageSize = 30
    /// Mode's per-user rate limit, a leaky bucket; nil turns it off.
    public var rateLimit: LeakyBucket.Limit?
    /// How long a new run takes to finish, in seconds.
    public var runDuration = 3.0

    public init(workspace: String = "demo", token: String, secret: String) {
        self.workspace = workspace
        self.token = token
        self.secret = secret
    }
}

/// The per-request context of the simulator: it keeps the channel so a fault can drop it.
public struct SimulatorContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }
}

/// A self-contained stand-in for the Mode API endpoints the gateway uses, with switches for
/// faults. The routes sit under `/api`, as Mode's do; `/_simulator/…` controls it over HTTP.
public struct ModeSimulator: Sendable {
    public let configuration: SimulatorConfiguration
    public let store: SimulatorStore
    public let control: SimulatorControl
    let renderer: HALRenderer
    /// The engine-served resources (collections, queries, schedules, groups …).
    let resources = SimResourceStore()
    let expectedAuthorization: String

    public init(configuration: SimulatorConfiguration, world: SimulatorWorld? = nil, control: SimulatorControl = SimulatorControl()) {
        self.configuration = configuration
        self.store = SimulatorStore(world: world ?? .demo(workspace: configuration.workspace))
        self.control = control
        self.renderer = HALRenderer(workspace: configuration.workspace)
        self.expectedAuthorization = "Basic " + Data("\(configuration.token):\(configuration.secret)".utf8).base64EncodedString()
    }

    /// The simulator's router: Mode's routes and the control routes.
    public func buildRouter() -> Router<SimulatorContext> {
        let router = Router(context: SimulatorContext.self)
        let api = router.group("api")
        api.get("verify") { request, context in
            try await self.serve(request, context) { _ in
                .ok(.object([("username", .string("api-user")), ("_links", .object([("self", self.renderer.link("/api/verify"))]))]))
            }
        }
        api.get("{workspace}/datasets/{dataset}") { request, context in
            try await self.serve(request, context) { world in
                self.dataset(in: world, context: context).map { self.render($0, detail: .full, world: world) }
            }
        }
        api.patch("{workspace}/datasets/{dataset}") { request, context in
            let body = try await request.body.collect(upTo: 1 << 20)
            return try await self.serve(request, context, body: body) { world in
                self.patch(body: body, token: context.parameters.get("dataset") ?? "", world: world)
            }
        }
        api.get("{workspace}/datasets/{dataset}/schedules") { request, context in
            try await self.serve(request, context) { world in
                switch self.dataset(in: world, context: context) {
                case .ok(let dataset):
                    let schedules = world.schedules.filter { $0.datasetToken == dataset.token }
                    return self.page(
                        of: schedules.map { self.renderer.schedule($0, dataset: dataset) },
                        itemsKey: "report_schedules",
                        selfPath: "/api/\(world.workspace)/datasets/\(dataset.token)/schedules",
                        request: request
                    )
                case .failure(let status, let body): return .failure(status, body)
                }
            }
        }
        api.get("{workspace}/spaces/{space}/datasets") { request, context in
            try await self.serve(request, context) { world in
                let token = context.parameters.get("space") ?? ""
                guard world.spaces.contains(where: { $0.token == token }) else {
                    return .failure(.notFound, HALRenderer.error(id: "not_found", message: "Space not found"))
                }
                return self.reportList(
                    world.datasets.filter { $0.spaceToken == token && !$0.restricted },
                    path: "spaces/\(token)/datasets",
                    world: world,
                    request: request
                )
            }
        }
        api.get("{workspace}/data_sources/{data_source}/datasets") { request, context in
            try await self.serve(request, context) { world in
                let token = context.parameters.get("data_source") ?? ""
                guard world.dataSources.contains(where: { $0.token == token }) else {
                    return .failure(.notFound, HALRenderer.error(id: "not_found", message: "Data source not found"))
                }
                return self.reportList(
                    world.datasets.filter { $0.dataSourceToken == token && !$0.restricted },
                    path: "data_sources/\(token)/datasets",
                    world: world,
                    request: request
                )
            }
        }
        self.addReportRoutes(to: api)
        self.addResourceRoutes(to: api)
        self.addAccountRoutes(to: api)
        self.addControlRoutes(to: router)
        return router
    }

    // MARK: Serving

    /// What a handler decided: a document, or a Mode error.
    enum Answer {
        case ok(JSONValue)
        /// 202: what a run POST answers.
        case accepted(JSONValue)
        /// A success with no body.
        case empty(HTTPResponse.Status)
        case failure(HTTPResponse.Status, JSONValue)
    }

    /// Records the request, applies any fault, checks workspace and credentials, then answers.
    func serve(
        _ request: Request,
        _ context: SimulatorContext,
        body: ByteBuffer? = nil,
        _ handler: (SimulatorWorld) throws -> Answer
    ) async throws -> Response {
        self.control.record(
            RecordedRequest(
                method: request.method.rawValue,
                path: request.uri.path,
                query: request.uri.query,
                authorization: request.headers[.authorization],
                headerNames: request.headers.map { $0.name.canonicalName },
                body: body.map { String(buffer: $0) }
            )
        )
        let rate = self.control.meter(self.configuration.rateLimit)
        if let rate, rate.rejected {
            var headers = rate.headers
            headers[.contentType] = "application/json"
            headers[.retryAfter] = String(max(1, Int(rate.resetSeconds.rounded(.up))))
            return Response(
                status: .tooManyRequests,
                headers: headers,
                body: .init(byteBuffer: ByteBuffer(string: HALRenderer.error(id: "rate_limited", message: "Rate limit exceeded").serialized))
            )
        }
        var response = try await self.answer(request, context, handler)
        if let rate { response.headers.append(contentsOf: rate.headers) }
        return response
    }

    private func answer(
        _ request: Request,
        _ context: SimulatorContext,
        _ handler: (SimulatorWorld) throws -> Answer
    ) async throws -> Response {
        switch self.control.takeFault() {
        case .drop:
            try await context.channel.close()
            throw HTTPError(.internalServerError)
        case .delay(let milliseconds):
            try await Task.sleep(for: .milliseconds(milliseconds))
        case .status(let code, let retryAfter):
            var headers: HTTPFields = [.contentType: "application/json"]
            if let retryAfter { headers[.retryAfter] = String(retryAfter) }
            let id = code == 429 ? "rate_limited" : (code >= 500 ? "internal_server_error" : "error")
            return Response(
                status: .init(code: code),
                headers: headers,
                body: .init(byteBuffer: ByteBuffer(string: HALRenderer.error(id: id, message: "Simulated fault \(code)").serialized))
            )
        case .brokenJSON:
            return Response(
                status: .ok,
                headers: [.contentType: "application/hal+json"],
                body: .init(byteBuffer: ByteBuffer(string: "{\"token\":\"broken\",\"_links\":{\"self\":"))
            )
        case nil:
            break
        }
        guard request.headers[.authorization] == self.expectedAuthorization else {
            return Self.json(.unauthorized, HALRenderer.error(id: "unauthorized", message: "Unauthorized. Check your API token and secret."))
        }
        let world = self.store.snapshot
        if let workspace = context.parameters.get("workspace"), workspace != world.workspace {
            return Self.json(.notFound, HALRenderer.error(id: "not_found", message: "Workspace not found"))
        }
        switch try handler(world) {
        case .ok(let document): return Self.json(.ok, document)
        case .accepted(let document): return Self.json(.accepted, document)
        case .empty(let status): return Response(status: status)
        case .failure(let status, let document): return Self.json(status, document)
        }
    }

    static func json(_ status: HTTPResponse.Status, _ document: JSONValue) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/hal+json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: document.serialized))
        )
    }

    /// The dataset named in the path, or Mode's 404 or 403.
    private func dataset(in world: SimulatorWorld, context: SimulatorContext) -> DatasetLookup {
        let token = context.parameters.get("dataset") ?? ""
        guard let dataset = world.datasets.first(where: { $0.token == token }) else {
            return .failure(.notFound, HALRenderer.error(id: "not_found", message: "Dataset not found"))
        }
        if dataset.restricted {
            return .failure(.forbidden, HALRenderer.error(id: "forbidden", message: "You do not have access to this dataset"))
        }
        return .ok(dataset)
    }

    enum DatasetLookup {
        case ok(SimReport)
        case failure(HTTPResponse.Status, JSONValue)

        func map(_ render: (SimReport) -> JSONValue) -> Answer {
            switch self {
            case .ok(let dataset): .ok(render(dataset))
            case .failure(let status, let body): .failure(status, body)
            }
        }
    }

    func patch(body: ByteBuffer, token: String, world: SimulatorWorld) -> Answer {
        guard let parsed = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
            let report = parsed["report"] as? [String: Any]
        else {
            return .failure(.badRequest, HALRenderer.error(id: "bad_request", message: "param is missing or the value is empty: report"))
        }
        for (key, value) in report {
            guard ["name", "description", "space_token"].contains(key), value is String else {
                return .failure(.badRequest, HALRenderer.error(id: "bad_request", message: "Unpermitted parameter: \(key)"))
            }
        }
        let now = Int(Date().timeIntervalSince1970)
        switch self.store.update(
            report: token,
            name: report["name"] as? String,
            description: report["description"] as? String,
            spaceToken: report["space_token"] as? String,
            now: now
        ) {
        case .updated(let dataset): return .ok(self.render(dataset, detail: .updated, world: self.store.snapshot))
        case .notFound: return .failure(.notFound, HALRenderer.error(id: "not_found", message: "Dataset not found"))
        case .forbidden:
            return .failure(.forbidden, HALRenderer.error(id: "forbidden", message: "You do not have access to this dataset"))
        case .invalidSpace(let space):
            return .failure(
                .init(code: 422),
                HALRenderer.error(id: "unprocessable_entity", message: "Space '\(space)' does not exist in this workspace")
            )
        }
    }

    // MARK: Lists

    /// A report or dataset as Mode renders it, with what its runs say of it now.
    func render(_ report: SimReport, detail: HALRenderer.Detail, world: SimulatorWorld) -> JSONValue {
        let now = SimClock.now()
        return self.renderer.report(
            report,
            detail: detail,
            lastRun: world.runs(of: report.token).last,
            lastSuccessfulRun: world.lastSuccessfulRun(of: report.token, at: now)
        )
    }

    func reportList(_ datasets: [SimReport], path: String, world: SimulatorWorld, request: Request) -> Answer {
        let query = request.uri.queryParameters
        var datasets = datasets
        if let filter = query["filter"] {
            let parts = filter.split(separator: ".", maxSplits: 2)
            guard parts.count == 3, ["created_at", "updated_at"].contains(parts[0]), ["gt", "lt"].contains(parts[1]),
                let instant = SimTime.parse(String(parts[2]))
            else {
                return .failure(.badRequest, HALRenderer.error(id: "bad_request", message: "Invalid filter: \(filter)"))
            }
            datasets = datasets.filter { dataset in
                let value = Double(parts[0] == "created_at" ? dataset.createdAt : dataset.updatedAt)
                return parts[1] == "gt" ? value > instant : value < instant
            }
        }
        let orderBy = query["order_by"].map(String.init) ?? "created_at"
        let order = query["order"].map(String.init) ?? "asc"
        guard ["created_at", "updated_at"].contains(orderBy), ["asc", "desc"].contains(order) else {
            return .failure(.badRequest, HALRenderer.error(id: "bad_request", message: "Invalid order or order_by"))
        }
        datasets.sort { lhs, rhs in
            let (left, right) = orderBy == "created_at" ? (lhs.createdAt, rhs.createdAt) : (lhs.updatedAt, rhs.updatedAt)
            if left != right { return order == "asc" ? left < right : left > right }
            return lhs.id < rhs.id
        }
        return self.page(
            of: datasets.map { self.render($0, detail: .summary, world: world) },
            itemsKey: "reports",
            selfPath: "/api/\(self.configuration.workspace)/\(path)",
            request: request
        )
    }

    func page(of items: [JSONValue], itemsKey: String, selfPath: String, request: Request) -> Answer {
        let pageText = request.uri.queryParameters["page"].map(String.init) ?? "1"
        guard let page = Int(pageText), page >= 1 else {
            return .failure(.badRequest, HALRenderer.error(id: "bad_request", message: "Invalid page"))
        }
        let size = self.configuration.pageSize
        let start = min(items.count, (page - 1) * size)
        let end = min(items.count, start + size)
        return .ok(
            self.renderer.collection(
                items: Array(items[start..<end]),
                itemsKey: itemsKey,
                selfPath: selfPath,
                page: page,
                hasNext: end < items.count,
                totalCount: items.count,
                pageSize: size
            )
        )
    }
}
