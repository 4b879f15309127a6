import Foundation

/// A JSON value from a client's body, decoded strictly enough to tell `true` from `1` and `1`
/// from `1.5`, and written back with sorted members, so the same request is the same bytes.
indirect enum JSONBody: Decodable, Equatable, Sendable {
    case null
    case bool(Bool)
    case integer(Int)
    case number(Double)
    case string(String)
    case array([JSONBody])
    case object([String: JSONBody])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONBody].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONBody].self))
        }
    }

    /// The value as plain Swift values (`Int`, `Bool`, `String`, arrays, dictionaries), for
    /// documents that are written out again (the spec's examples).
    var plain: Any {
        switch self {
        case .null: NSNull()
        case .bool(let value): value
        case .integer(let value): value
        case .number(let value): value
        case .string(let value): value
        case .array(let values): values.map(\.plain)
        case .object(let members): members.mapValues(\.plain)
        }
    }

    /// Compact JSON, object members sorted by name.
    var serialized: String {
        switch self {
        case .null: "null"
        case .bool(let value): value ? "true" : "false"
        case .integer(let value): String(value)
        case .number(let value): value.isFinite ? "\(value)" : "null"
        case .string(let value): JSONText.quoted(value)
        case .array(let values): "[" + values.map(\.serialized).joined(separator: ",") + "]"
        case .object(let members):
            "{" + members.sorted { $0.key < $1.key }.map { JSONText.quoted($0.key) + ":" + $0.value.serialized }.joined(separator: ",") + "}"
        }
    }
}
