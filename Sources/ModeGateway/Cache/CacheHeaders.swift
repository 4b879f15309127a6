import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The headers of a JSON answer (`ETag`, `Cache-Control`, `X-Cache`, `Age`) and the 304 flow
/// for `If-None-Match`. Works on stored bytes only: nothing here reads or copies the body.
enum CacheHeaders {
    /// A cached read's answer as it goes on the wire, all but `Date`: the status, the header
    /// fields in the order the router writes them, and the body (none for 304, and none for HEAD,
    /// whose `Content-Length` says what GET would send).
    struct Answer {
        var status: HTTPResponse.Status
        /// The header fields, in order: names and values only, so that the fast path can write
        /// them without building `HTTPFields` (every value here is already a legal field value).
        var headers: [(name: HTTPField.Name, value: String)]
        var body: ByteBuffer?

        /// The header fields, for Hummingbird's response.
        var fields: HTTPFields {
            var fields = HTTPFields()
            fields.reserveCapacity(self.headers.count)
            for (name, value) in self.headers { fields.append(HTTPField(name: name, value: value)) }
            return fields
        }
    }

    /// The answer for a looked-up entry, or a 304 when the client already has it. The one
    /// function for a cached read's answer, whichever path serves it: the router's, or the event
    /// loop's fast path for fresh hits (``HitCore``).
    static func answer(for lookup: ResponseCache.Lookup, ifNoneMatch: String?, requestID: String, isHead: Bool) -> Answer {
        let etag = lookup.response.etag
        let notModified = ifNoneMatch.map { Self.matches($0, etag: etag) } ?? false
        var headers: [(name: HTTPField.Name, value: String)] = []
        headers.reserveCapacity(8)
        if !notModified { headers.append((.contentType, "application/json")) }
        headers.append((.eTag, etag))
        headers.append((.cacheControl, "private, max-age=" + String(Self.wholeSeconds(lookup.freshFor))))
        headers.append((.xCache, lookup.status.rawValue))
        if lookup.status != .bypass {
            headers.append((.age, String(Self.wholeSeconds(lookup.age))))
        }
        // A 304 has no length to give (NIO's encoder would drop one).
        if !notModified { headers.append((.contentLength, String(lookup.response.body.readableBytes))) }
        headers.append((.requestID, requestID))
        if notModified { return Answer(status: .notModified, headers: headers, body: nil) }
        return Answer(status: .ok, headers: headers, body: isHead ? nil : lookup.response.body)
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
