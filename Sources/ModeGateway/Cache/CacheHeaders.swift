import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The headers of a JSON answer (`ETag`, `Cache-Control`, `X-Cache`, `Age`) and the 304 flow
/// for `If-None-Match`. Works on stored bytes only: nothing here reads or copies the body.
enum CacheHeaders {
    /// Receives an answer's header fields one by one, in the order they go on the wire.
    protocol FieldSink {
        mutating func add(_ name: HTTPField.Name, _ value: String)
        /// A field whose value is `prefix` and then a whole number (`private, max-age=60`, `0`).
        mutating func add(_ name: HTTPField.Name, _ prefix: StaticString, _ number: Int)
    }

    /// A cached read's answer as it goes on the wire, all but `Date`: the status, what its header
    /// fields say, and the body (none for 304, and none for HEAD, whose `Content-Length` says
    /// what GET would send). ``fields(into:)`` is the one list of its fields, in order.
    struct Answer {
        var etag: String
        var maxAge: Int
        var cacheStatus: ResponseCache.Status
        var age: Int
        /// The entity's length; nil for 304.
        var length: Int?
        /// 200, or 304 when the client already has the entity (then there is no length to give).
        var status: HTTPResponse.Status { self.length == nil ? .notModified : .ok }
        var requestID: String
        var body: ByteBuffer?

        /// The header fields, in order (every value here is already a legal field value).
        func fields<Sink: FieldSink>(into sink: inout Sink) {
            if self.length != nil { sink.add(.contentType, "application/json") }
            sink.add(.eTag, self.etag)
            sink.add(.cacheControl, "private, max-age=", self.maxAge)
            sink.add(.xCache, self.cacheStatus.rawValue)
            if self.cacheStatus != .bypass { sink.add(.age, "", self.age) }
            // A 304 has no length to give (NIO's encoder would drop one).
            if let length = self.length { sink.add(.contentLength, "", length) }
            sink.add(.requestID, self.requestID)
        }

        /// The header fields, for Hummingbird's response.
        var fields: HTTPFields {
            var sink = FieldList()
            self.fields(into: &sink)
            return sink.fields
        }
    }

    private struct FieldList: FieldSink {
        var fields = HTTPFields()

        init() { self.fields.reserveCapacity(8) }

        mutating func add(_ name: HTTPField.Name, _ value: String) { self.fields.append(HTTPField(name: name, value: value)) }

        mutating func add(_ name: HTTPField.Name, _ prefix: StaticString, _ number: Int) {
            self.fields.append(HTTPField(name: name, value: prefix.description + String(number)))
        }
    }

    /// The answer for a looked-up entry, or a 304 when the client already has it. The one
    /// function for a cached read's answer, whichever path serves it: the router's, or the event
    /// loop's fast path for fresh hits (``HitCore``).
    static func answer(for lookup: ResponseCache.Lookup, ifNoneMatch: String?, requestID: String, isHead: Bool) -> Answer {
        let etag = lookup.response.etag
        let notModified = ifNoneMatch.map { Self.matches($0, etag: etag) } ?? false
        return Answer(
            etag: etag,
            maxAge: Int(Self.wholeSeconds(lookup.freshFor)),
            cacheStatus: lookup.status,
            age: Int(Self.wholeSeconds(lookup.age)),
            length: notModified ? nil : lookup.response.body.readableBytes,
            requestID: requestID,
            body: notModified || isHead ? nil : lookup.response.body
        )
    }

    /// The router's response for a looked-up answer (HEAD loses its body later, in ``HeadResponder``).
    static func response(for lookup: ResponseCache.Lookup, request: Request, requestID: String) -> Response {
        let answer = Self.answer(for: lookup, ifNoneMatch: request.headers[.ifNoneMatch], requestID: requestID, isHead: false)
        return Response(status: answer.status, headers: answer.fields, body: answer.body.map { .init(byteBuffer: $0) } ?? .init())
    }

    /// The answer to a successful write: the new representation with its `ETag`, never cached
    /// and never answered with 304 (`If-None-Match` is a read's condition).
    static func writeResponse(_ response: CachedResponse) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "application/json", .eTag: response.etag, .cacheControl: "no-store"],
            body: .init(byteBuffer: response.body)
        )
    }

    /// Whether `If-None-Match` names this entity (weak comparison, as RFC 9110 asks for it).
    static func matches(_ condition: String, etag: String) -> Bool {
        let opaque = etag.hasPrefix("W/") ? etag.dropFirst(2) : Substring(etag)
        for candidate in condition.split(separator: ",") {
            let trimmed = candidate.trimmingCharacters(in: .whitespaces)
            if trimmed == "*" { return true }
            let tag = trimmed.hasPrefix("W/") ? trimmed.dropFirst(2) : Substring(trimmed)
            if tag == opaque { return true }
        }
        return false
    }

    /// Whether the client asked to skip stored answers (`Cache-Control: no-cache`).
    static func wantsRevalidation(_ fields: HTTPFields) -> Bool {
        let directives = fields[values: .cacheControl].flatMap { $0.split(separator: ",") }
        return directives.contains { $0.trimmingCharacters(in: .whitespaces).lowercased() == "no-cache" }
    }

    static func wholeSeconds(_ duration: Duration) -> Int64 {
        max(0, duration.components.seconds)
    }
}

extension HTTPField.Name {
    static let xCache = Self("X-Cache")!
}
