/// Hex digits: read one (either case), or write 64-bit words in lower case straight into a
/// string's buffer.
package enum HexDigits {
    /// The value of one hex digit, or nil for any other byte.
    @inline(__always)
    package static func value(of byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    @inline(__always)
    static func write(_ word: UInt64, into buffer: UnsafeMutableBufferPointer<UInt8>, at offset: Int) {
        let digits: StaticString = "0123456789abcdef"
        for nibble in 0..<16 {
            buffer[offset + nibble] = digits.utf8Start[Int(truncatingIfNeeded: word >> UInt64(60 - 4 * nibble) & 0xF)]
        }
    }
}
