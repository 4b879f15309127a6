import HTTPTypes

/// A request head read straight from a connection's bytes, for the fast path (``FastFront``).
///
/// It reads only the plainest of heads: `GET` or `HEAD`, an origin-form target of URI characters,
/// `HTTP/1.1`, and header lines of `token: visible ASCII` ended by CRLF, with no body and nothing
/// that changes how the connection goes on (`Content-Length`, `Transfer-Encoding`, `Upgrade`,
/// `Expect`, a second `Host`, a `Connection` other than `keep-alive` or `close`). Every such head
/// is read by NIO's HTTP/1 decoder (llhttp) as the same one request of the same length, with no
/// body. Anything else is ``Scan/unusual``: the fast path then leaves the connection's bytes to
/// that decoder alone, so a head it cannot vouch for is never split two ways.
struct PlainRequestHead {
    var isHead: Bool
    /// The request target, as Hummingbird's path.
    var target: String
    /// The first `Host`, as Hummingbird's authority.
    var authority: String?
    /// The other header fields, in order, as NIO's HTTP/1 codec gives them to Hummingbird.
    var fields: HTTPFields
    /// Its bytes, through the blank line.
    var length: Int
    /// Whether it asks to close the connection.
    var closes: Bool

    /// The longest head the fast path waits for, and the most fields it reads; a longer or fuller
    /// head is the decoder's. Both are well inside the decoder's own limits
    /// (``GatewayChannel/decoderLimits``, checked where the pipeline is built), so that every head
    /// read here as plain is one the decoder takes too.
    static let limit = 8192
    static let maxFields = 100

    enum Scan {
        /// A plain head: built in full when asked to, else only its length and `closes`.
        case plain(PlainRequestHead)
        /// The bytes so far are the start of a head, with no blank line yet.
        case incomplete
        /// Not a head this reader vouches for.
        case unusual
    }

    /// Reads the head at the start of `bytes`.
    /// - Parameter build: whether to build the target and fields (the fast path's candidates) or
    ///   only find where the head ends (a request already going to the decoder).
    static func scan(_ bytes: UnsafeRawBufferPointer, build: Bool) -> Scan {
        let count = bytes.count
        var at = 0
        @inline(__always) func byte(_ index: Int) -> UInt8 { bytes[index] }

        // The request line.
        let isHead: Bool
        if Self.startsWith(bytes, "GET ") {
            isHead = false
            at = 4
        } else if Self.startsWith(bytes, "HEAD ") {
            isHead = true
            at = 5
        } else {
            return Self.couldStart(bytes, "GET ") || Self.couldStart(bytes, "HEAD ") ? .incomplete : .unusual
        }
        let targetStart = at
        while at < count, Self.isTargetByte(byte(at)) { at += 1 }
        guard at < count else { return count > Self.limit ? .unusual : .incomplete }
        guard at > targetStart, byte(targetStart) == UInt8(ascii: "/"), byte(at) == UInt8(ascii: " ") else { return .unusual }
        let targetEnd = at
        at += 1
        let version: StaticString = "HTTP/1.1\r\n"
        if count - at < version.utf8CodeUnitCount {
            return Self.couldStart(UnsafeRawBufferPointer(rebasing: bytes[at...]), version) ? .incomplete : .unusual
        }
        guard Self.startsWith(UnsafeRawBufferPointer(rebasing: bytes[at...]), version) else { return .unusual }
        at += version.utf8CodeUnitCount

        // The header lines, to the blank line.
        var authority: String?
        var hosts = 0
        var closes = false
        var connections = 0
        var fields = HTTPFields()
        var lines = 0
        while true {
            guard at < count else { return count > Self.limit ? .unusual : .incomplete }
            if byte(at) == UInt8(ascii: "\r") {
                guard at + 1 < count else { return count > Self.limit ? .unusual : .incomplete }
                guard byte(at + 1) == UInt8(ascii: "\n") else { return .unusual }
                at += 2
                break
            }
            lines += 1
            guard lines <= Self.maxFields else { return .unusual }
            let nameStart = at
            while at < count, Self.isTokenByte(byte(at)) { at += 1 }
            guard at < count else { return count > Self.limit ? .unusual : .incomplete }
            guard at > nameStart, byte(at) == UInt8(ascii: ":") else { return .unusual }
            let nameEnd = at
            at += 1
            while at < count, byte(at) == UInt8(ascii: " ") || byte(at) == UInt8(ascii: "\t") { at += 1 }
            let valueStart = at
            var valueEnd = at
            while at < count, Self.isValueByte(byte(at)) {
                if byte(at) != UInt8(ascii: " ") && byte(at) != UInt8(ascii: "\t") { valueEnd = at + 1 }
                at += 1
            }
            guard at + 1 < count else { return count > Self.limit ? .unusual : .incomplete }
            guard byte(at) == UInt8(ascii: "\r"), byte(at + 1) == UInt8(ascii: "\n") else { return .unusual }
            at += 2
            guard at <= Self.limit else { return .unusual }

            let name = UnsafeRawBufferPointer(rebasing: bytes[nameStart..<nameEnd])
            let value = UnsafeRawBufferPointer(rebasing: bytes[valueStart..<valueEnd])
            switch Self.kind(of: name) {
            case .body: return .unusual
            case .host:
                hosts += 1
                guard hosts == 1 else { return .unusual }
                if build { authority = String(decoding: value, as: UTF8.self) }
                continue
            case .connection:
                connections += 1
                if Self.equalsIgnoringCase(value, "close") {
                    closes = true
                } else if !Self.equalsIgnoringCase(value, "keep-alive") {
                    return .unusual
                }
                // Hummingbird reads the joined values; two are not plain.
                guard connections == 1 else { return .unusual }
            case .other: break
            }
            if build, let fieldName = HTTPField.Name(String(decoding: name, as: UTF8.self)) {
                fields.append(HTTPField(name: fieldName, value: String(decoding: value, as: UTF8.self)))
            }
        }
        guard at <= Self.limit else { return .unusual }
        let target = build ? String(decoding: UnsafeRawBufferPointer(rebasing: bytes[targetStart..<targetEnd]), as: UTF8.self) : ""
        return .plain(PlainRequestHead(isHead: isHead, target: target, authority: authority, fields: fields, length: at, closes: closes))
    }

    private enum Kind {
        case host, connection, body, other
    }

    /// What a field name means to the reader: the names that make a head unusual are those that
    /// give it a body or change the connection.
    private static func kind(of name: UnsafeRawBufferPointer) -> Kind {
        switch name.count {
        case 4: return Self.equalsIgnoringCase(name, "host") ? .host : .other
        case 6: return Self.equalsIgnoringCase(name, "expect") ? .body : .other
        case 7: return Self.equalsIgnoringCase(name, "upgrade") ? .body : .other
        case 10: return Self.equalsIgnoringCase(name, "connection") ? .connection : .other
        case 14: return Self.equalsIgnoringCase(name, "content-length") ? .body : .other
        case 16: return Self.equalsIgnoringCase(name, "proxy-connection") ? .body : .other
        case 17: return Self.equalsIgnoringCase(name, "transfer-encoding") ? .body : .other
        default: return .other
        }
    }

    /// A byte of an origin-form target (RFC 3986's path and query characters).
    @inline(__always)
    static func isTargetByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "!"), UInt8(ascii: "$"),
            UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "*"), UInt8(ascii: "+"),
            UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "="), UInt8(ascii: ":"), UInt8(ascii: "@"), UInt8(ascii: "/"),
            UInt8(ascii: "?"), UInt8(ascii: "%"):
            true
        default: false
        }
    }

    /// A byte of a field name (RFC 9110's `tchar`).
    @inline(__always)
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
            UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
            UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            true
        default: false
        }
    }

    /// A byte of a field value this reader accepts: visible ASCII, space and tab.
    @inline(__always)
    static func isValueByte(_ byte: UInt8) -> Bool {
        (byte >= 0x20 && byte < 0x7F) || byte == UInt8(ascii: "\t")
    }

    private static func startsWith(_ bytes: UnsafeRawBufferPointer, _ prefix: StaticString) -> Bool {
        let count = prefix.utf8CodeUnitCount
        guard bytes.count >= count else { return false }
        let expected = UnsafeBufferPointer(start: prefix.utf8Start, count: count)
        for index in 0..<count where bytes[index] != expected[index] { return false }
        return true
    }

    /// Whether `bytes`, shorter than `prefix`, are its start.
    private static func couldStart(_ bytes: UnsafeRawBufferPointer, _ prefix: StaticString) -> Bool {
        let count = prefix.utf8CodeUnitCount
        guard bytes.count < count else { return false }
        let expected = UnsafeBufferPointer(start: prefix.utf8Start, count: count)
        for index in 0..<bytes.count where bytes[index] != expected[index] { return false }
        return true
    }

    private static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ lowercase: StaticString) -> Bool {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        let expected = UnsafeBufferPointer(start: lowercase.utf8Start, count: lowercase.utf8CodeUnitCount)
        for index in 0..<bytes.count {
            var byte = bytes[index]
            if byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") { byte |= 0x20 }
            if byte != expected[index] { return false }
        }
        return true
    }
}
