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
    /// Shared polling of runs that clients wait on.
    let runs: RunTracker
    /// `Idempotency-Key` answers of run POSTs.
    let idempotency: IdempotencyStore
    /// The longest `?wait=` a client may ask for.
    let maxRunWait: Duration
    /// Rows of finished runs, and what leads to them.
    let results: ResultsSettings
    let resultsCache: ResponseCache
    /// Which rows are being copied into the results cache.
    let resultFills = ResultFills()
    /// `GET /reports/{report}`, whose cached entry names a report's latest successful run.
    let reportRoute: CompiledRoute
    /// Each client's own rate of requests that reach Mode (misses, revalidations, writes, runs, rows).
    let modeShare: ClientRateLimiter

    func handle(_ compiled: CompiledRoute, request: Request, context: GatewayRequestContext) async throws -> Response {
        let route = compiled.spec
        context.trace.update { $0.route = route.path }
        // Validate: path tokens, query and body, before anything goes upstream.
        let tokens = try Self.tokens(for: route, context: context)
        let path = compiled.upstreamPath.render(tokens)

        switch route.shape {
        case .object where route.method == .get, .collection:
            // A read: from the cache, or from Mode through it, coalesced per key.
            let query = try ReadQuery(route: route, raw: request.uri.query)
            let lookup = try await self.cachedRead(compiled, path: path, query: query, tokens: tokens, request: request, context: context)
            return CacheHeaders.response(for: lookup, request: request, requestID: context.requestID)
        case .object:
            // A write: straight to Mode; on success, what it makes wrong leaves the caches.
            let query = try ReadQuery(route: route, raw: request.uri.query)
            let body = try await RequestBody.upstreamBody(for: route.body, from: request)
            if let refusal = self.chargeMode(context) { throw refusal }
            let deadline = self.time.now() + self.timeout
            let dropped = compiled.invalidates.map { $0.render(tokens) }
            let outcome: Result<UpstreamResponse, GatewayError>
            do throws(GatewayError) {
                outcome = .success(
                    try await self.call(
                        UpstreamRequest(method: route.method, path: path, query: query.upstream(page: nil), body: body),
                        deadline: deadline,
                        context: context
                    )
                )
            } catch {
                outcome = .failure(error)
            }
            if case .failure(let error) = outcome, error.isTransient, !error.neverReachedMode {
                // Dropped, timed out or a 5xx: Mode may have applied the write. The cached past goes too.
                await self.cache.invalidateEverywhere(tags: dropped)
                self.resultsCache.invalidate(tags: dropped)
            }
            let upstream = try outcome.get()
            // On every replica, before the client hears of the write.
            await self.cache.invalidateEverywhere(tags: dropped)
            self.resultsCache.invalidate(tags: dropped)
            // Mode answers some writes (deletes, purges) with no body at all.
            guard upstream.body.readableBytes > 0 else {
                return Response(status: upstream.status.code == 202 ? .accepted : .noContent, headers: [.cacheControl: "no-store"])
            }
            let document = try Self.transform { () throws(TransformError) in try HALTransform.object(upstream.body) }
            return CacheHeaders.writeResponse(CachedResponse(body: document))
        case .binary:
            _ = try QueryParameters(request.uri.query, allowed: [])
            if let refusal = self.chargeMode(context) { throw refusal }
            return try await self.passThrough(path: path, context: context)
        case .run where route.method == .get:
            return try await self.readRun(compiled, path: path, tokens: tokens, request: request, context: context)
        case .run:
            return try await self.startRun(compiled, path: path, tokens: tokens, request: request, context: context)
        case .results(let scope):
            return try await self.serveResults(scope, compiled: compiled, reportPath: path, tokens: tokens, request: request, context: context)
        }
    }

    /// A cacheable GET: the answer from the cache, or from Mode through it.
    func cachedRead(
        _ compiled: CompiledRoute,
        path: String,
        query: ReadQuery,
        tokens: [String: Token],
        request: Request?,
        context: GatewayRequestContext
    ) async throws(GatewayError) -> ResponseCache.Lookup {
        let route = compiled.spec
        let placement = ResponseCache.Placement(
            path: path,
            query: query.canonical,
            tags: compiled.cacheTags.map { $0.render(tokens) }
        )
        let lookup = try await self.cache.fetch(
            placement,
            policy: compiled.cachePolicy,
            revalidate: request.map { CacheHeaders.wantsRevalidation($0.headers) } ?? false,
            admit: { self.chargeMode(context) }
        ) { () throws(GatewayError) in
            let deadline = self.time.now() + self.timeout
            let body = try await self.read(route.shape, path: path, query: query, deadline: deadline, context: context)
            return CachedResponse(body: body, isStorable: context.trace.snapshot.listCutShort == false)
        }
        context.trace.update { $0.cacheStatus = lookup.status.rawValue }
        return lookup
    }

    /// Reads one object, or a whole list, from Mode and transforms it.
    func read(
        _ shape: RouteSpec.Shape,
        path: String,
        query: ReadQuery = ReadQuery(),
        deadline: Duration,
        context: GatewayRequestContext
    ) async throws(GatewayError) -> ByteBuffer {
        switch shape {
        case .object, .run, .results, .binary:
            let upstream = try await self.call(
                UpstreamRequest(method: .get, path: path, query: query.upstream(page: nil)),
                deadline: deadline,
                context: context
            )
            return try Self.transform { () throws(TransformError) in try HALTransform.object(upstream.body) }
        case .collection(let itemsKey):
            return try await self.completeList(path: path, itemsKey: itemsKey, query: query, deadline: deadline, context: context)
        }
    }

    /// Reads a list: one page when the client names it, otherwise every page until an empty one,
    /// a repeated one, or the page cap.
    private func completeList(
        path: String,
        itemsKey: String,
        query: ReadQuery,
        deadline: Duration,
        context: GatewayRequestContext
    ) async throws(GatewayError) -> ByteBuffer {
        let builder = CollectionBuilder(itemsKey: itemsKey)
        let chosen = query.list?.page
        let pages = chosen.map { $0...$0 } ?? 1...self.maxPages
        for page in pages {
            // Each page after the first adds one slot of Mode's budget to the time allowed: the
            // list's deadline is sized to its page count, not to one call.
            let pageDeadline = deadline + self.upstream.settings.slotInterval * (page - pages.lowerBound)
            let response: Result<UpstreamResponse, GatewayError>
            do throws(GatewayError) {
                response = .success(
                    try await self.call(
                        UpstreamRequest(method: .get, path: path, query: query.upstream(page: page)),
                        deadline: pageDeadline,
                        context: context
                    )
                )
            } catch {
                response = .failure(error)
            }
            if case .failure(let error) = response, page > 1, chosen == nil, error.isOutOfTime {
                // Out of time (or budget) part way: what was read, marked as cut short, beats
                // nothing; it is not kept, since the next try may read it whole.
                context.trace.update { $0.listCutShort = true }
                return self.cutShort(builder, path: path, reason: "deadline", context: context)
            }
            let upstream = try response.get()
            let outcome = try Self.transform { () throws(TransformError) in try builder.add(page: upstream.body) }
            switch outcome {
            case .appended: continue
            case .empty, .repeated: return builder.finish()
            }
        }
        if chosen == nil { return self.cutShort(builder, path: path, reason: "page cap", context: context) }
        return builder.finish()
    }

    /// A list that could not be read whole: served with `"complete": false`. One cut at the page
    /// cap is cut the same way every time, and is cached as such; one cut by the deadline is not.
    private func cutShort(_ builder: CollectionBuilder, path: String, reason: String, context: GatewayRequestContext) -> ByteBuffer {
        context.logger.warning(
            "List cut short",
            metadata: ["upstream_path": "\(path)", "reason": "\(reason)", "items": "\(builder.count)", "request_id": "\(context.requestID)"]
        )
        return builder.finish(complete: false)
    }

    /// Charges the client for one request that reaches Mode; the refusal when it is over its share.
    func chargeMode(_ context: GatewayRequestContext) -> GatewayError? {
        self.modeShare.admit(Self.client(context)).map { GatewayError.tooManyRequests(retryAfterSeconds: $0) }
    }

    /// Who a request is for, in the per-client limits and the queue for Mode.
    static func client(_ context: GatewayRequestContext) -> String {
        context.trace.snapshot.clientIdentity ?? "anonymous"
    }

    /// One upstream call; a non-success answer becomes the matching ``GatewayError``.
    func call(_ request: UpstreamRequest, deadline: Duration, context: GatewayRequestContext) async throws(GatewayError) -> UpstreamResponse {
        let response = try await self.upstream.send(request, for: Self.client(context), deadline: deadline)
        context.trace.update {
            $0.upstreamCalls += 1
            $0.lastUpstreamStatus = response.status.code
        }
        if let error = UpstreamStatus.error(for: response) { throw error }
        return response
    }

    static func transform<Result>(_ body: () throws(TransformError) -> Result) throws(GatewayError) -> Result {
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

    /// A file from Mode (a PDF export), streamed with Mode's content type and length; never
    /// transformed or cached.
    private func passThrough(path: String, context: GatewayRequestContext) async throws(GatewayError) -> Response {
        let deadline = self.time.now() + self.timeout
        let upstream = try await self.call(UpstreamRequest(method: .get, path: path, streamsBody: true), deadline: deadline, context: context)
        guard let stream = upstream.stream else { throw .badGateway(detail: "Mode's file could not be read.") }
        var headers: HTTPFields = [.cacheControl: "private, no-store"]
        for name in [HTTPField.Name.contentType, .contentDisposition] {
            if let value = upstream.headers[name] { headers[name] = value }
        }
        let limit = self.results.maxBytes
        // A length is the encoded one when Mode compressed the file, which arrives decoded.
        let length =
            upstream.headers[.contentEncoding] == nil
            ? upstream.headers[.contentLength].flatMap { Int($0) }.flatMap { $0 <= limit ? $0 : nil } : nil
        return Response(
            status: .ok,
            headers: headers,
            body: ResponseBody(contentLength: length) { writer in
                var sent = 0
                for try await chunk in stream {
                    sent += chunk.readableBytes
                    guard sent <= limit else { throw GatewayError.badGateway(detail: "Mode's file is larger than RESULTS_MAX_BYTES.") }
                    try await writer.write(chunk)
                }
                try await writer.finish(nil)
            }
        )
    }
}
