import Foundation

/// Foundation's reading of HAL stripping: the oracle the byte-level rewriter must agree with.
public enum FoundationOracle {
    public static let hal: Set<String> = ["_links", "_forms", "_embedded"]

    public static func strip(_ value: Any) -> Any {
        if let object = value as? [String: Any] {
            var result: [String: Any] = [:]
            for (key, member) in object where !Self.hal.contains(key) { result[key] = Self.strip(member) }
            if let embedded = object["_embedded"] as? [String: Any] { Self.lift(embedded, into: &result) }
            return result
        }
        if let array = value as? [Any] { return array.map(Self.strip) }
        return value
    }

    public static func lift(_ embedded: [String: Any], into result: inout [String: Any]) {
        for (key, member) in embedded where !Self.hal.contains(key) && result[key] == nil {
            result[key] = Self.strip(member)
        }
        if let nested = embedded["_embedded"] as? [String: Any] { Self.lift(nested, into: &result) }
    }

    /// A canonical text for comparing two parsed values.
    public static func canonical(_ value: Any) throws -> String {
        let data = try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed])
        return String(decoding: data, as: UTF8.self)
    }

    public static func parse(_ text: [UInt8]) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(text), options: [.fragmentsAllowed])
    }

    /// Whether any object in a document Foundation has read repeats a key (compared decoded).
    public static func hasRepeatedKey(_ text: [UInt8]) -> Bool {
        var objects: [Set<String>?] = []  // one entry per open container; nil for an array
        var index = 0
        while index < text.count {
            switch text[index] {
            case UInt8(ascii: "{"): objects.append([])
            case UInt8(ascii: "["): objects.append(nil)
            case UInt8(ascii: "}"), UInt8(ascii: "]"): _ = objects.popLast()
            case UInt8(ascii: "\""):
                let start = index
                index += 1
                while index < text.count, text[index] != UInt8(ascii: "\"") {
                    index += text[index] == UInt8(ascii: "\\") ? 2 : 1
                }
                var next = index + 1
                while next < text.count, [0x20, 0x09, 0x0A, 0x0D].contains(text[next]) { next += 1 }
                if next < text.count, text[next] == UInt8(ascii: ":"), let last = objects.indices.last, objects[last] != nil {
                    let token = Data(text[start...min(index, text.count - 1)])
                    let key = (try? JSONSerialization.jsonObject(with: token, options: [.fragmentsAllowed])) as? String ?? ""
                    if objects[last]!.insert(key).inserted == false { return true }
                }
            default: break
            }
            index += 1
        }
        return false
    }
}
