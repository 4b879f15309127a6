/// A raw query string split into decoded name/value pairs, refusing anything ambiguous.
struct QueryString {
    var pairs: [(name: String, value: String)] = []

    init(pairs: [(name: String, value: String)]) {
        self.pairs = pairs
    }

    /// Parses `a=1&b=2`. Empty segments are ignored; a bad percent escape, a name that is not
    /// plain ASCII, or a repeated name is an error naming the parameter.
    /// The longest query read, in bytes, and the most parameters: past either the answer is 414 or 400.
    static let maxBytes = 8 * 1024
    static let maxParameters = 64

    init(_ raw: String?) throws(GatewayError) {
        guard let raw, !raw.isEmpty else { return }
        guard raw.utf8.count <= Self.maxBytes else { throw .queryTooLong(limit: Self.maxBytes) }
        var seen: Set<String> = []
        for segment in raw.split(separator: "&", omittingEmptySubsequences: true) {
            guard self.pairs.count < Self.maxParameters else {
                throw .invalidQuery(parameter: "(query)", reason: "has more than \(Self.maxParameters) parameters.")
            }
            let parts = segment.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let rawName = parts[0]
            guard let name = Self.percentDecode(rawName), !name.isEmpty,
                name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F })
            else {
                throw .invalidQuery(parameter: Problem.printable(String(rawName), limit: 64), reason: "is not a valid parameter name.")
            }
            guard let value = Self.percentDecode(parts.count > 1 ? parts[1] : "") else {
                throw .invalidQuery(parameter: name, reason: "has an invalid percent-encoding.")
            }
            guard seen.insert(name).inserted else {
                throw .invalidQuery(parameter: name, reason: "is given more than once.")
            }
            self.pairs.append((name, value))
        }
    }

    /// Decodes `%XX` escapes; nil for a malformed escape or invalid UTF-8. A `+` stays a `+`
    /// (RFC 3986), so a timezone offset such as `+02:00` may be written as is.
    static func percentDecode(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(HexDigits.value(of:)),
                    let low = iterator.next().flatMap(HexDigits.value(of:))
                else { return nil }
                bytes.append(high << 4 | low)
            default:
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    /// Encodes a query value: everything but RFC 3986's unreserved characters is escaped.
    static func percentEncode(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".unicodeScalars)
                result.unicodeScalars.append("%")
                result.unicodeScalars.append(hex[Int(byte >> 4)])
                result.unicodeScalars.append(hex[Int(byte & 0x0F)])
            }
        }
        return result
    }
}

/// The query of a route that takes a few named parameters; any other name is refused.
struct QueryParameters {
    private var values: [String: String] = [:]

    init(_ raw: String?, allowed: Set<String>) throws(GatewayError) {
        for (name, value) in try QueryString(raw).pairs {
            guard allowed.contains(name) else {
                throw .invalidQuery(parameter: Problem.printable(name, limit: 64), reason: "is not a parameter of this route.")
            }
            self.values[name] = value
        }
    }

    subscript(name: String) -> String? { self.values[name] }

    /// A whole number of seconds from 0 to `max`, or nil when absent.
    func seconds(_ name: String, max: Int) throws(GatewayError) -> Duration? {
        guard let text = self.values[name] else { return nil }
        guard text.utf8.count <= 6, !text.isEmpty, text.utf8.allSatisfy({ $0 &- UInt8(ascii: "0") < 10 }), let value = Int(text), value <= max
        else { throw .invalidQuery(parameter: name, reason: "must be a whole number of seconds from 0 to \(max).") }
        return .seconds(value)
    }
}
