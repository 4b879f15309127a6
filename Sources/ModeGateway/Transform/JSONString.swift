/// Decoding of JSON string escapes, for the rare key that is written with them.
enum JSONString {
    /// The UTF-8 bytes of a string's content (between its quotes) with escapes decoded.
    /// The content must already be validated; a lone surrogate becomes U+FFFD, as decoders do.
    static func unescape(_ raw: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(raw.count)
        var index = 0
        while index < raw.count {
            let byte = raw[index]
            guard byte == Byte.backslash, index + 1 < raw.count else {
                result.append(byte)
                index += 1
                continue
            }
            let escape = raw[index + 1]
            index += 2
            switch escape {
            case UInt8(ascii: "b"): result.append(0x08)
            case UInt8(ascii: "f"): result.append(0x0C)
            case UInt8(ascii: "n"): result.append(0x0A)
            case UInt8(ascii: "r"): result.append(0x0D)
            case UInt8(ascii: "t"): result.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = Self.hex4(raw, at: index)
                index += 4
                if (0xD800..<0xDC00).contains(scalar), index + 6 <= raw.count, raw[index] == Byte.backslash,
                    raw[index + 1] == UInt8(ascii: "u")
                {
                    let low = Self.hex4(raw, at: index + 2)
                    if (0xDC00..<0xE000).contains(low) {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        index += 6
                    }
                }
                let unicode = Unicode.Scalar(scalar) ?? "\u{FFFD}"
                result.append(contentsOf: String(Character(unicode)).utf8)
            default: result.append(escape)
            }
        }
        return result
    }

    private static func hex4(_ raw: UnsafeBufferPointer<UInt8>, at index: Int) -> UInt32 {
        var value: UInt32 = 0
        for offset in 0..<4 where index + offset < raw.count {
            value = value << 4 | UInt32(HexDigits.value(of: raw[index + offset]) ?? 0)
        }
        return value
    }
}
