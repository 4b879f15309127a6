extension UpstreamConnections {
    /// Where Mode is: scheme, host, port and the path that every call goes below.
    struct Origin: Sendable, Equatable {
        /// Why a URL was refused, for `MODE_API_URL`'s error.
        static let requirement = "must be an http:// or https:// URL, without user info, query or fragment."

        var tls: Bool
        var host: String
        var port: Int
        /// The path below which calls go, without a trailing `/` (`/api`).
        var basePath: String

        /// The URL below which calls go, as given but for a trailing `/`.
        var url: String { (self.tls ? "https://" : "http://") + self.hostHeader + self.basePath }

        /// The `Host` header: the port only when it is not the scheme's own.
        var hostHeader: String {
            let host = self.host.contains(":") ? "[\(self.host)]" : self.host
            return self.port == (self.tls ? 443 : 80) ? host : "\(host):\(self.port)"
        }

        /// Reads `http://host[:port][/path]` or `https://…`; nil for anything else (user info,
        /// a query or a fragment included).
        init?(url: String) {
            let rest: Substring
            if url.hasPrefix("https://") {
                self.tls = true
                rest = url.dropFirst(8)
            } else if url.hasPrefix("http://") {
                self.tls = false
                rest = url.dropFirst(7)
            } else {
                return nil
            }
            let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
            let path = rest.dropFirst(authority.count)
            guard !authority.isEmpty, path.utf8.allSatisfy(Self.isPathByte) else { return nil }
            let host: Substring
            var port: Substring?
            if authority.hasPrefix("[") {
                guard let close = authority.firstIndex(of: "]") else { return nil }
                host = authority[authority.index(after: authority.startIndex)..<close]
                let after = authority[authority.index(after: close)...]
                if !after.isEmpty {
                    guard after.hasPrefix(":") else { return nil }
                    port = after.dropFirst()
                }
            } else if let colon = authority.firstIndex(of: ":") {
                host = authority[..<colon]
                port = authority[authority.index(after: colon)...]
            } else {
                host = authority
            }
            let bracketed = authority.hasPrefix("[")
            guard !host.isEmpty, host.utf8.allSatisfy({ bracketed ? Self.isAddressByte($0) : Self.isNameByte($0) }) else { return nil }
            if let port {
                guard port.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }), let number = Int(port),
                    (1...65535).contains(number)
                else { return nil }
                self.port = number
            } else {
                self.port = self.tls ? 443 : 80
            }
            self.host = String(host)
            self.basePath = path.hasSuffix("/") ? String(path.dropLast()) : String(path)
        }

        /// RFC 3986's unreserved characters, sub-delimiters and `%`: a host name's.
        private static func isNameByte(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
            case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "%"): true
            case UInt8(ascii: "!"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("), UInt8(ascii: ")"),
                UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "="):
                true
            default: false
            }
        }

        /// A path segment's characters and `/` (no query, no fragment).
        private static func isPathByte(_ byte: UInt8) -> Bool {
            Self.isNameByte(byte) || byte == UInt8(ascii: ":") || byte == UInt8(ascii: "@") || byte == UInt8(ascii: "/")
        }

        /// An IPv6 (or future) address literal's characters, between `[` and `]`.
        private static func isAddressByte(_ byte: UInt8) -> Bool {
            Self.isNameByte(byte) || byte == UInt8(ascii: ":")
        }
    }
}
