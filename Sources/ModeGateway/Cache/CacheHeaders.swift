import Foundation
import HTTPTypes
import Hummingbird

/// The headers of a JSON answer (`ETag`, `Cache-Control`, `X-Cache`, `Age`) and the 304 flow
/// for `If-None-Match`. Works on stored bytes only: nothing here reads or copies the body.
enum CacheHeaders {
    /// The response for a looked-up answer, or a 304 when the client already has it.
    static func response(for lookup: ResponseCache.Lookup, request: Request) -> Response {
        var headers: HTTPFields = [
            .contentType: "application/json",
            .eTag: lookup.response.etag,
            .cacheControl: "private, max-age=\(Self.wholeSeconds(lookup.freshFor))",
            .xCache: lookup.status.rawValue,
        ]
        if lookup.status != .bypass {
            headers[.age] = String(Self.wholeSeconds(lookup.age))
        }
        if let condition = request.headers[.ifNoneMatch], Self.matches(condition, etag: lookup.response.etag) {
            headers[.contentType] = nil
            return Response(status: .notModified, headers: headers)
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: lookup.response.body))
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
    static func wantsRevalidation(_ request: Request) -> Bool {
        let directives = request.headers[values: .cacheControl].flatMap { $0.split(separator: ",") }
        return directives.contains { $0.trimmingCharacters(in: .whitespaces).lowercased() == "no-cache" }
    }

    static func wholeSeconds(_ duration: Duration) -> Int64 {
        max(0, duration.components.seconds)
    }
}

extension HTTPField.Name {
    static let xCache = Self("X-Cache")!
}
