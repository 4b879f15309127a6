import HTTPTypes
import NIOCore

/// Answers a fresh cache hit synchronously, on the connection's event loop, with no task and no
/// router: the core of the fast path (``FastHitHandler``).
///
/// It decides with the same functions the router's path calls: ``AccessGate`` for the key, its
/// scope and the client's rate, ``ReadQuery`` for the cache key, ``ResponseCache/freshLocalHit(_:policy:)``
/// for the entry, ``CacheHeaders/answer(for:ifNoneMatch:requestID:isHead:)`` for the bytes, and
/// ``RequestLog`` for the log line and metrics. So a hit answered here is the answer the router
/// would give. Anything it is not sure of (a miss, a stale entry, a refusal, a body, a
/// `Cache-Control: no-cache`, a path it cannot read plainly) it leaves to the router, untouched:
/// nothing is counted or charged before it knows it will answer.
final class HitCore: Sendable {
    /// A cached read the fast path may serve; a reference, so that a match copies no route.
    final class Route: Sendable {
        let compiled: CompiledRoute
        let scope: Scope

        init(compiled: CompiledRoute, scope: Scope) {
            self.compiled = compiled
            self.scope = scope
        }
    }

    private let matcher: RouteMatcher<Route>
    private let access: AccessGate
    private let cache: ResponseCache
    private let log: RequestLog

    /// - Parameters:
    ///   - routes: the compiled Mode routes; the cached reads among them are served here.
    ///   - templates: every (method, template) the router serves, so that a path that could be
    ///     read two ways is left to it.
    init(routes: [CompiledRoute], templates: [(method: HTTPRequest.Method, path: String)], access: AccessGate, cache: ResponseCache, log: RequestLog)
    {
        var served: [String: Route] = [:]
        for compiled in routes where compiled.spec.isCachedRead && compiled.cachePolicy.isEnabled {
            let path = compiled.spec.path
            guard let scope = AccessPolicy.requiredScope(method: .get, routeTemplate: path) else { continue }
            served[path] = Route(compiled: compiled, scope: scope)
        }
        var seen: Set<String> = []
        var entries: [(template: String, target: Route?)] = []
        for (_, path) in templates where seen.insert(path).inserted {
            entries.append((path, served[path]))
        }
        self.matcher = RouteMatcher(entries)
        self.access = access
        self.cache = cache
        self.log = log
    }

    /// The answer to a request, when it is a fresh hit; nil to leave the request to the router.
    /// - Parameters:
    ///   - address: the peer's address, for the per-client limit of a gateway that runs open.
    ///   - date: the connection's `Date` header.
    func answer(_ request: HTTPRequest, address: String?, date: inout HTTPDate) -> (head: HTTPResponse, body: ByteBuffer?)? {
        let started = ContinuousClock.now
        let isHead: Bool
        switch request.method {
        case .get: isHead = false
        case .head: isHead = true
        default: return nil
        }
        let fields = request.headerFields
        // A body, a connection to close, a revalidation: the router's.
        if let length = fields[.contentLength], length != "0" { return nil }
        if fields[.transferEncoding] != nil { return nil }
        // Any `Connection` but keep-alive is the router's to read (it closes on `close`).
        if let connection = fields[.connection], connection.lowercased() != "keep-alive" { return nil }
        guard let target = request.path, !CacheHeaders.wantsRevalidation(fields) else { return nil }

        let split = target.utf8.firstIndex(of: UInt8(ascii: "?"))
        let path = split.map { target[..<$0] } ?? target[...]
        let rawQuery = split.map { String(target[target.index(after: $0)...]) }
        guard rawQuery?.utf8.contains(UInt8(ascii: "#")) != true, let match = self.matcher.match(path) else { return nil }
        let route = match.target
        guard match.parameters.allSatisfy({ Token.isValid($0.value) }) else { return nil }
        guard let query = try? ReadQuery(route: route.compiled.spec, raw: rawQuery) else { return nil }
        guard let identity = try? self.access.identify(authority: request.authority, fields: fields, address: address),
            (try? self.access.authorize(identity, required: route.scope)) != nil
        else { return nil }
        let upstreamPath = route.compiled.upstreamPath.render { match.value(of: $0) }
        let key = ResponseCache.Placement.key(path: upstreamPath, query: query.canonical)
        guard let lookup = self.cache.freshLocalHit(key, policy: route.compiled.cachePolicy) else { return nil }
        // A client over its rate is refused by the router (the refusal charges nothing).
        guard (try? self.access.admit(identity)) != nil else { return nil }
        self.cache.countFastHit()

        let requestID = RequestIDMiddleware.resolve(fields[.requestID])
        let answer = CacheHeaders.answer(for: lookup, ifNoneMatch: fields[.ifNoneMatch], requestID: requestID, isHead: isHead)
        var headers = answer.fields
        headers.append(HTTPField(name: .date, value: date.now()))
        var facts = RequestTrace.Facts()
        facts.route = route.compiled.spec.path
        facts.cacheStatus = lookup.status.rawValue
        facts.clientName = identity.name
        facts.clientIdentity = identity.client
        self.log.record(
            requestID: requestID,
            method: request.method.rawValue,
            route: route.compiled.spec.path,
            status: answer.status.code,
            duration: ContinuousClock.now - started,
            facts: facts
        )
        return (HTTPResponse(status: answer.status, headerFields: headers), answer.body)
    }
}
