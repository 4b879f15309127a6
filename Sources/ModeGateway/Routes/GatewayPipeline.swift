import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The path of one request through the gateway, top to bottom:
/// validate → cache (or coalesce) → upstream (every page of a list) → transform → store → respond.
///
/// Each step is a small type with one job; this type only puts them in order.
struct GatewayPipeline: Sendable {
    let upstream: UpstreamExecutor
    /// The budget for all the upstream work of one request: retries, waits and every page.
    let timeout: Duration
    let time: TimeSource
    let cache: ResponseCache
    /// The most pages read for one list before the gateway stops (the answer is then what it read).
    let maxPages: Int

    func handle(_ compiled: CompiledRoute, request: Request, context: GatewayRequestContext) async throws -> Response {
        let route = compiled.spec
        context.trace.update { $0.route = route.path }
        // Validate: path tokens, query and body, before anything goes upstream.
        let tokens = try Self.tokens(for: route, context: context)
        let query = try Self.listQuery(for: route, raw: request.uri.query)
        let path = compiled.upstreamPath.render(tokens)

        switch route.body {
        case .none:
            // A read: from the cache, or from Mode through it, coalesced per key.
            let placement = ResponseCache.Placement(
                path: path,
                query: query?.canonical ?? "",
                tags: compiled.cacheTags.map { $0.render(tokens) }
            )
            let lookup = try await self.cache.fetch(
                placement,
                policy: compiled.cachePolicy,
                revalidate: CacheHeaders.wantsRevalidation(request)
            ) { () throws(GatewayError) in
                let deadline = self.time.now() + self.timeout
                return CachedResponse(body: try await self.read(route, path: path, query: query, deadline: deadline, context: context))
            }
            context.trace.update { $0.cacheStatus = lookup.status.rawValue }
            return CacheHeaders.response(for: lookup, request: request)
        case .datasetUpdate:
            // A write: straight to Mode; on success, what it makes wrong leaves the cache.
            let body = ByteBuffer(string: try await Self.datasetUpdate(from: request).upstreamBody)
            let deadline = self.time.now() + self.timeout
            let upstream = try await self.call(UpstreamRequest(method: route.method, path: path, body: body), deadline: deadline, context: context)
            let document = try Self.transform { () throws(TransformError) in try HALTransform.object(upstream.body) }
            self.cache.invalidate(tags: compiled.invalidates.map { $0.render(tokens) })
            return CacheHeaders.writeResponse(CachedResponse(body: document))
        }
    }

    /// Reads one object, or a whole list, from Mode and transforms it.
    private func read(
        _ route: RouteSpec,
        path: String,
        query: ListQuery?,
        deadline: Duration,
        context: GatewayRequestContext
    ) async throws(GatewayError) -> ByteBuffer {
        switch route.shape {
        case .object:
            let upstream = try await self.call(UpstreamRequest(method: .get, path: path), deadline: deadline, context: context)
            return try Self.transform { () throws(TransformError) in try HALTransform.object(upstream.body) }
        case .collection(let itemsKey):
            return try await self.completeList(path: path, itemsKey: itemsKey, query: query ?? ListQuery(), deadline: deadline, context: context)
        }
    }

    /// Reads a list: one page when the client names it, otherwise every page until an empty one,
    /// a repeated one, or the page cap.
    private func completeList(
        path: String,
        itemsKey: String,
        query: ListQuery,
        deadline: Duration,
        context: GatewayRequestContext
    ) async throws(GatewayError) -> ByteBuffer {
        let builder = CollectionBuilder(itemsKey: itemsKey)
        let pages = query.page.map { $0...$0 } ?? 1...self.maxPages
        for page in pages {
            let upstream = try await self.call(
                UpstreamRequest(method: .get, path: path, query: query.upstreamQuery(page: page)),
                deadline: deadline,
                context: context
            )
            let outcome = try Self.transform { () throws(TransformError) in try builder.add(page: upstream.body) }
            switch outcome {
            case .appended: continue
            case .empty, .repeated: return builder.finish()
            }
        }
        if query.page == nil {
            context.logger.warning(
                "List truncated at the page cap",
                metadata: ["upstream_path": "\(path)", "pages": "\(self.maxPages)", "request_id": "\(context.requestID)"]
            )
        }
        return builder.finish()
    }

    /// One upstream call; a non-success answer becomes the matching ``GatewayError``.
    private func call(_ request: UpstreamRequest, deadline: Duration, context: GatewayRequestContext) async throws(GatewayError) -> UpstreamResponse {
        let response = try await self.upstream.send(request, deadline: deadline)
        context.trace.update {
            $0.upstreamCalls += 1
            $0.lastUpstreamStatus = response.status.code
        }
        if let error = UpstreamStatus.error(for: response) { throw error }
        return response
    }

    private static func transform<Result>(_ body: () throws(TransformError) -> Result) throws(GatewayError) -> Result {
        do {
            return try body()
        } catch {
            throw .badGateway(detail: "Mode answered with invalid JSON (\(error)).")
        }
    }

    static func tokens(for route: RouteSpec, context: GatewayRequestContext) throws(GatewayError) -> [String: Token] {
        var tokens: [String: Token] = [:]
        for name in route.parameters {
            guard let raw = context.parameters.get(name), let token = Token(raw) else {
                throw .invalidToken(parameter: name)
            }
            tokens[name] = token
        }
        return tokens
    }

    /// The list query of a collection route; any query on another route is refused.
    static func listQuery(for route: RouteSpec, raw: String?) throws(GatewayError) -> ListQuery? {
        let query = try QueryString(raw)
        if route.isCollection { return try ListQuery(query: query) }
        if let first = query.pairs.first {
            throw .invalidQuery(parameter: Problem.printable(first.name, limit: 64), reason: "is not a parameter of this route.")
        }
        return nil
    }

    static func datasetUpdate(from request: Request) async throws -> DatasetUpdate {
        let limit = DatasetUpdate.maxBodyBytes
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
            throw GatewayError.bodyTooLarge(limit: limit)
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw GatewayError.bodyTooLarge(limit: limit)
        }
        return try DatasetUpdate(json: Array(buffer: buffer))
    }
}
