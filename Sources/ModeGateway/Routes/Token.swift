/// A Mode token (dataset, space, data source): 1 to 64 characters from `[A-Za-z0-9_-]`.
///
/// Checked on the raw, undecoded path segment, so encoded slashes, dots, NUL and spaces are all
/// refused before anything is sent upstream.
public struct Token: Sendable, Hashable {
    public let value: String

    public init?(_ raw: some StringProtocol) {
        guard Self.isValid(raw) else { return nil }
        self.value = String(raw)
    }

    public static func isValid(_ raw: some StringProtocol) -> Bool {
        let utf8 = raw.utf8
        guard (1...64).contains(utf8.count) else { return false }
        return utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
                true
            default: false
            }
        }
    }
}
