import Foundation
import Hummingbird
import NIOCore

/// Reads and validates a request body as its route's ``RouteSpec/Body`` says, and writes the
/// body Mode wants. Nothing is sent upstream for a body that fails here.
enum RequestBody {
    /// The largest body accepted.
    static let maxBytes = 64 * 1024

    /// The body Mode gets for a validated request body, or nil for a route without one.
    static func upstreamBody(for body: RouteSpec.Body, from request: Request) async throws -> ByteBuffer? {
        switch body {
        case .none:
            return nil
        case .wrapped(let key, let fields):
            return ByteBuffer(string: try Self.wrapped(key: key, fields: fields, json: try await Self.collect(request)))
        case .runParameters:
            return ByteBuffer(string: try Self.runParameters(json: try await Self.collect(request)))
        }
    }

    /// The whole body, refused past ``maxBytes`` without reading more.
    static func collect(_ request: Request) async throws -> [UInt8] {
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > Self.maxBytes {
            throw GatewayError.bodyTooLarge(limit: Self.maxBytes)
        }
        do {
            return Array(buffer: try await request.body.collect(upTo: Self.maxBytes))
        } catch is NIOTooManyBytesError {
            throw GatewayError.bodyTooLarge(limit: Self.maxBytes)
        }
    }

    /// A flat body of named fields, each optional, at least one, sent as `{"<key>": {…}}` with
    /// exactly the fields given, in the table's order.
    static func wrapped(key: String, fields: [RouteSpec.BodyField], json body: [UInt8]) throws(GatewayError) -> String {
        let object = try Self.object(body)
        let names = fields.map(\.name)
        let list = names.joined(separator: ", ")
        if let unknown = object.keys.sorted().first(where: { !names.contains($0) }) {
            let hint = unknown == key ? " Send the fields flat, not wrapped in '\(key)'." : ""
            throw .invalidBody(field: Problem.printable(unknown, limit: 64), reason: "is not a field of this body; use \(list).\(hint)")
        }
        guard !object.isEmpty else {
            throw .invalidBody(field: nil, reason: "The body must set at least one of \(list).")
        }
        var members: [String] = []
        for field in fields {
            guard let value = object[field.name] else { continue }
            // JSONSerialization gives NSString for strings; anything else (numbers, booleans, null) is refused.
            guard let text = value as? String, !(value is NSNumber) else {
                throw .invalidBody(field: field.name, reason: "must be a string.")
            }
            if field.kind == .token, !Token.isValid(text) {
                throw .invalidBody(field: field.name, reason: "must be a Mode token: 1 to 64 characters from A-Z, a-z, 0-9, '_' and '-'.")
            }
            members.append(JSONText.quoted(field.name) + ":" + JSONText.quoted(text))
        }
        return "{" + JSONText.quoted(key) + ":{" + members.joined(separator: ",") + "}}"
    }

    /// A run's optional body: empty, or `{"parameters": {name: value, …}}`. Sent to Mode as
    /// `{"parameters": {…}}` with the members sorted, so the same request is the same bytes.
    static func runParameters(json body: [UInt8]) throws(GatewayError) -> String {
        guard body.contains(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }) else { return "{\"parameters\":{}}" }
        let object = try Self.object(body)
        if let unknown = object.keys.sorted().first(where: { $0 != "parameters" }) {
            throw .invalidBody(field: Problem.printable(unknown, limit: 64), reason: "is not a field of a run; send {\"parameters\": {…}}.")
        }
        let raw: Any = object["parameters"] ?? [String: Any]()
        guard let parameters = raw as? [String: Any] else {
            throw .invalidBody(field: "parameters", reason: "must be an object of parameter names and values.")
        }
        guard parameters.keys.allSatisfy({ !$0.isEmpty && $0.utf8.count <= 255 }) else {
            throw .invalidBody(field: "parameters", reason: "names must be 1 to 255 bytes.")
        }
        guard
            let data = try? JSONSerialization.data(
                withJSONObject: ["parameters": parameters],
                options: [.sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed]
            )
        else { throw .invalidBody(field: "parameters", reason: "holds a value that is not JSON.") }
        return String(decoding: data, as: UTF8.self)
    }

    private static func object(_ body: [UInt8]) throws(GatewayError) -> [String: Any] {
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed])
        } catch {
            throw .invalidBody(field: nil, reason: "The body is not valid JSON.")
        }
        guard let object = parsed as? [String: Any] else {
            throw .invalidBody(field: nil, reason: "The body must be a JSON object.")
        }
        return object
    }
}
