import Foundation

/// The client keys the gateway accepts, from `GATEWAY_API_KEYS_FILE`: one key per line as
/// `<lowercase hex SHA-256 of the key> <scope> <name>`; `#` starts a comment. Only digests are
/// kept; a presented key is hashed and compared with every digest in constant time.
public struct KeyStore: Sendable {
    public struct Record: Sendable, Equatable {
        public var digest: [UInt8]
        public var scope: Scope
        /// The name logged for the key; never the key.
        public var name: String
    }

    public let records: [Record]

    public init(records: [Record]) {
        self.records = records
    }

    /// Parses a keys file's text; an error names the line.
    public init(parsing text: String) throws(KeyFileError) {
        var records: [Record] = []
        // Split on any line break: in Swift "\r\n" is one character, so splitting on "\n" alone
        // would read a CRLF file as a single line.
        for (index, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            if fields.isEmpty { continue }
            let number = index + 1
            guard fields.count == 3 else {
                throw KeyFileError(line: number, reason: "expected '<sha256 hex> <scope> <name>'")
            }
            guard fields[0].utf8.count == 64, let digest = Self.hexBytes(fields[0]) else {
                throw KeyFileError(line: number, reason: "the first field must be 64 lowercase hex digits (a SHA-256)")
            }
            guard let scope = Scope(rawValue: String(fields[1])) else {
                throw KeyFileError(line: number, reason: "scope must be read, write or admin")
            }
            let name = String(fields[2])
            guard name.utf8.count <= 64, name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                throw KeyFileError(line: number, reason: "the name must be 1 to 64 printable ASCII characters")
            }
            guard !records.contains(where: { $0.digest == digest }) else {
                throw KeyFileError(line: number, reason: "this key is listed twice")
            }
            records.append(Record(digest: digest, scope: scope, name: name))
        }
        self.records = records
    }

    /// The record of a presented key, if it is one of ours. Every record is compared, and each
    /// comparison looks at every byte, so the time taken says nothing about which byte differed.
    public func authenticate(_ presented: String) -> Record? {
        let digest = SHA256.hash(Array(presented.utf8))
        var found: Record?
        for record in self.records {
            var difference: UInt8 = 0
            for index in 0..<32 { difference |= record.digest[index] ^ digest[index] }
            if difference == 0 { found = record }
        }
        return found
    }

    /// `<digest> <scope> <name>` for a key: the line to add to the keys file.
    public static func line(forKey key: String, scope: Scope, name: String) -> String {
        let digest = SHA256.hash(Array(key.utf8)).map { String(format: "%02x", $0) }.joined()
        return "\(digest) \(scope.rawValue) \(name)"
    }

    /// A new random key: `mgw_` and 64 hex digits (256 bits).
    public static func generateKey() -> String {
        var generator = SystemRandomNumberGenerator()
        return "mgw_" + (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    private static func hexBytes(_ text: Substring) -> [UInt8]? {
        var bytes: [UInt8] = []
        var high: UInt8?
        for byte in text.utf8 {
            let value: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = byte - UInt8(ascii: "a") + 10
            default: return nil
            }
            if let first = high {
                bytes.append(first << 4 | value)
                high = nil
            } else {
                high = value
            }
        }
        return bytes.count == 32 ? bytes : nil
    }
}

/// A keys file line that cannot be read.
public struct KeyFileError: Error, Equatable, CustomStringConvertible {
    public var line: Int
    public var reason: String
    public var description: String { "line \(self.line): \(self.reason)" }
}
