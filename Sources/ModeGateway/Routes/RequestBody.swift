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
        let bytes = try await Self.collect(request)
        switch body {
        case .none:
            guard Self.isBlank(bytes) else { throw GatewayError.invalidBody(field: nil, reason: "This route takes no body.") }
            return nil
        case .fields(let wrap, let fields):
            return ByteBuffer(string: try Self.fields(wrap: wrap, fields: fields, json: bytes))
        case .runParameters:
            return ByteBuffer(string: try Self.runParameters(json: bytes))
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

    /// A flat body of named fields, sent as `{"<wrap>": {…}}` (or flat) with exactly the fields
    /// given, in the table's order, each where Mode wants it.
    static func fields(wrap: String?, fields: [RouteSpec.BodyField], json body: [UInt8]) throws(GatewayError) -> String {
        let object = try Self.object(Self.isBlank(body) ? Array("{}".utf8) : body)
        let names = fields.map(\.name)
        let list = names.joined(separator: ", ")
        if let unknown = object.keys.sorted().first(where: { !names.contains($0) }) {
            let hint = unknown == wrap ? " Send the fields flat, not wrapped in '\(unknown)'." : ""
            throw .invalidBody(field: Problem.printable(unknown, limit: 64), reason: "is not a field of this body; use \(list).\(hint)")
        }
        if let missing = fields.first(where: { $0.required && object[$0.name] == nil }) {
            throw .invalidBody(field: missing.name, reason: "is required.")
        }
        if object.isEmpty, !fields.contains(where: \.required) {
            throw .invalidBody(field: nil, reason: "The body must set at least one of \(list).")
        }
        var tree: [String: JSONBody] = [:]
        var order: [String] = []
        for field in fields {
            guard let value = object[field.name] else { continue }
            try Self.check(value, as: field)
            Self.place(value, at: field.upstream[...], in: &tree)
            if let first = field.upstream.first, !order.contains(first) { order.append(first) }
        }
        // Members in the table's order, so the bytes Mode gets are predictable.
        let inner = "{" + order.compactMap { key in tree[key].map { JSONText.quoted(key) + ":" + $0.serialized } }.joined(separator: ",") + "}"
        guard let wrap else { return inner }
        return "{" + JSONText.quoted(wrap) + ":" + inner + "}"
    }

    private static func check(_ value: JSONBody, as field: RouteSpec.BodyField) throws(GatewayError) {
        switch (field.kind, value) {
        case (.string, .string): return
        case (.token, .string(let text)):
            guard Token.isValid(text) else {
                throw .invalidBody(field: field.name, reason: "must be a Mode token: 1 to 64 characters from A-Z, a-z, 0-9, '_' and '-'.")
            }
        case (.integer, .integer): return
        case (.boolean, .bool): return
        case (.object, .object): return
        default: throw .invalidBody(field: field.name, reason: "must be \(field.kind == .integer ? "an" : "a") \(field.kind.rawValue).")
        }
    }

    private static func place(_ value: JSONBody, at path: ArraySlice<String>, in tree: inout [String: JSONBody]) {
        guard let key = path.first else { return }
        if path.count == 1 {
            tree[key] = value
            return
        }
        var inner: [String: JSONBody] = [:]
        if case .object(let existing) = tree[key] { inner = existing }
        Self.place(value, at: path.dropFirst(), in: &inner)
        tree[key] = .object(inner)
    }

    /// A run's optional body: empty, or `{"parameters": {name: value, …}}`. Sent to Mode as
    /// `{"parameters": {…}}` with the members sorted, so the same request is the same bytes.
    static func runParameters(json body: [UInt8]) throws(GatewayError) -> String {
        guard !Self.isBlank(body) else { return "{\"parameters\":{}}" }
        let object = try Self.object(body)
        if let unknown = object.keys.sorted().first(where: { $0 != "parameters" }) {
            throw .invalidBody(field: Problem.printable(unknown, limit: 64), reason: "is not a field of a run; send {\"parameters\": {…}}.")
        }
        guard case .object(let parameters) = object["parameters"] ?? .object([:]) else {
            throw .invalidBody(field: "parameters", reason: "must be an object of parameter names and values.")
        }
        guard parameters.keys.allSatisfy({ !$0.isEmpty && $0.utf8.count <= 255 }) else {
            throw .invalidBody(field: "parameters", reason: "names must be 1 to 255 bytes.")
        }
        return "{\"parameters\":" + JSONBody.object(parameters).serialized + "}"
    }

    private static func isBlank(_ body: [UInt8]) -> Bool {
        body.allSatisfy { [0x20, 0x09, 0x0A, 0x0D].contains($0) }
    }

    private static func object(_ body: [UInt8]) throws(GatewayError) -> [String: JSONBody] {
        let parsed: JSONBody
        do {
            parsed = try JSONDecoder().decode(JSONBody.self, from: Data(body))
        } catch {
            throw .invalidBody(field: nil, reason: "The body is not valid JSON.")
        }
        guard case .object(let object) = parsed else {
            throw .invalidBody(field: nil, reason: "The body must be a JSON object.")
        }
        return object
    }
}
