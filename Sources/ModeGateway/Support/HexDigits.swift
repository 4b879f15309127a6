/// Lower-case hex digits of 64-bit words, written straight into a string's buffer.
enum HexDigits {
    @inline(__always)
    static func write(_ word: UInt64, into buffer: UnsafeMutableBufferPointer<UInt8>, at offset: Int) {
        let digits: StaticString = "0123456789abcdef"
        for nibble in 0..<16 {
            buffer[offset + nibble] = digits.utf8Start[Int(truncatingIfNeeded: word >> UInt64(60 - 4 * nibble) & 0xF)]
        }
    }
}
