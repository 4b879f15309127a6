import HTTPTypes
import NIOCore

/// Answers a fresh cache hit synchronously, on the connection's event loop, with no task and no
/// router: the core of the fast path (``FastFront``).
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

    /// One connection's state for the fast path: its `Date` header, what its last target
    /// resolved to (clients poll the same URL, and a target's route and cache key depend on
    /// nothing else), who it last was, and its last request's metric handles.
    struct Connection {
        var date = HTTPDate()
        fileprivate var last: Resolved?
        fileprivate var identity: AccessGate.Remembered?
        fileprivate var metrics: GatewayMetrics.RequestMetrics?
    }

    /// A target's route and cache key.
    fileprivate struct Resolved {
        let target: String
        let route: Route
        let key: String
    }

    /// The route and cache key of a target, when it is a cached read this path serves.
    private func resolve(_ target: String) -> Resolved? {
        let split = target.utf8.firstIndex(of: UInt8(ascii: "?"))
        let path = split.map { target[..<$0] } ?? target[...]
        let rawQuery = split.map { String(target[target.index(after: $0)...]) }
        guard let match = self.matcher.match(path) else { return nil }
        let route = match.target
        guard match.parameters.allSatisfy({ Token.isValid($0.value) }) else { return nil }
        guard let query = try? ReadQuery(route: route.compiled.spec, raw: rawQuery) else { return nil }
        let upstreamPath = route.compiled.upstreamPath.render { match.value(of: $0) }
        return Resolved(target: target, route: route, key: ResponseCache.Placement.key(path: upstreamPath, query: query.canonical))
    }

    /// The answer to a request, as the bytes to write, when it is a fresh hit; nil to leave the
    /// request to the router.
    /// - Parameters:
    ///   - address: the peer's address, for the per-client limit of a gateway that runs open.
    ///   - connection: the connection's state.
    func answer(_ request: PlainRequestHead, address: String?, connection: inout Connection, allocator: ByteBufferAllocator) -> ByteBuffer? {
        let started = ContinuousClock.now
        let fields = request.fields
        // A revalidation is the router's.
        guard !CacheHeaders.wantsRevalidation(fields) else { return nil }
        let resolved: Resolved
        if let last = connection.last, last.target == request.target {
            resolved = last
        } else {
            guard let found = self.resolve(request.target) else { return nil }
            connection.last = found
            resolved = found
        }
        let route = resolved.route
        guard
            let identity = try? self.access.identify(
                authority: request.authority,
                fields: fields,
                address: address,
                remembering: &connection.identity
            ),
            (try? self.access.authorize(identity, required: route.scope)) != nil
        else { return nil }
        guard let lookup = self.cache.freshLocalHit(resolved.key, policy: route.compiled.cachePolicy) else { return nil }
        // A client over its rate is refused by the router (the refusal charges nothing).
        guard (try? self.access.admit(identity)) != nil else { return nil }
        self.cache.countFastHit()

        let requestID = RequestIDMiddleware.resolve(fields[.requestID])
        let answer = CacheHeaders.answer(for: lookup, ifNoneMatch: fields[.ifNoneMatch], requestID: requestID, isHead: request.isHead)
        var facts = RequestTrace.Facts()
        facts.route = route.compiled.spec.path
        facts.cacheStatus = lookup.status.rawValue
        facts.clientName = identity.name
        facts.clientIdentity = identity.client
        self.log.record(
            requestID: requestID,
            method: request.isHead ? "HEAD" : "GET",
            route: route.compiled.spec.path,
            status: answer.status.code,
            duration: ContinuousClock.now - started,
            facts: facts,
            remembering: &connection.metrics
        )
        return answer.http1(date: connection.date.now(), allocator: allocator)
    }
}

extension CacheHeaders.Answer {
    /// The answer as HTTP/1.1 bytes, with `Date` last: what Hummingbird's response writer, NIO's
    /// HTTP types codec and its HTTP/1 encoder write for the router's answer (the fast path's
    /// equivalence test holds them to it). The head is written straight into the buffer, numbers
    /// included, with no string made for it.
    func http1(date: String, allocator: ByteBufferAllocator) -> ByteBuffer {
        // The reason phrase the router's answer carries through NIO's HTTP types codec.
        let reason = self.status.reasonPhrase
        // Room for the status line, every field's name and number, the strings, and `Date`.
        let bound = 320 + reason.utf8.count + self.etag.utf8.count + self.requestID.utf8.count + date.utf8.count
        var buffer = allocator.buffer(capacity: bound + (self.body?.readableBytes ?? 0))
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { out in
            var head = HeadWriter(out: out)
            head.put("HTTP/1.1 ")
            head.put(number: self.status.code)
            head.put(" ")
            head.put(reason)
            head.put("\r\n")
            self.fields(into: &head)
            head.put("Date: ")
            head.put(date)
            head.put("\r\n\r\n")
            return head.at
        }
        if let body = self.body { buffer.writeImmutableBuffer(body) }
        return buffer
    }

    /// Writes a head into memory sized for it: every write checks that it fits.
    private struct HeadWriter: CacheHeaders.FieldSink {
        let out: UnsafeMutableRawBufferPointer
        var at = 0

        mutating func add(_ name: HTTPField.Name, _ value: String) {
            self.put(name.rawName)
            self.put(": ")
            self.put(value)
            self.put("\r\n")
        }

        mutating func add(_ name: HTTPField.Name, _ prefix: StaticString, _ number: Int) {
            self.put(name.rawName)
            self.put(": ")
            self.put(prefix)
            self.put(number: number)
            self.put("\r\n")
        }

        mutating func put(_ bytes: UnsafeRawBufferPointer) {
            precondition(self.at + bytes.count <= self.out.count, "the answer's head outgrew its room")
            UnsafeMutableRawBufferPointer(rebasing: self.out[self.at..<self.at + bytes.count]).copyMemory(from: bytes)
            self.at += bytes.count
        }

        mutating func put(_ text: StaticString) {
            self.put(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
        }

        mutating func put(_ text: String) {
            var text = text
            text.withUTF8 { self.put(UnsafeRawBufferPointer($0)) }
        }

        /// A whole number in decimal (never negative here: codes, seconds, lengths).
        mutating func put(number: Int) {
            precondition(number >= 0 && self.at + 20 <= self.out.count, "the answer's head outgrew its room")
            var digits = 1
            var rest = number / 10
            while rest > 0 {
                digits += 1
                rest /= 10
            }
            var value = number
            for index in stride(from: self.at + digits - 1, through: self.at, by: -1) {
                self.out[index] = UInt8(ascii: "0") + UInt8(value % 10)
                value /= 10
            }
            self.at += digits
        }
    }
}
