#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Why a document could not be rewritten. The offset is a byte position in the input.
public struct TransformError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Reason: String, Sendable {
        case unexpectedEnd = "unexpected end of document"
        case unexpectedByte = "unexpected byte"
        case invalidString = "invalid string"
        case invalidEscape = "invalid escape sequence"
        case invalidUTF8 = "invalid UTF-8"
        case invalidNumber = "invalid number"
        case invalidLiteral = "invalid literal"
        case tooDeep = "nesting too deep"
        case trailingData = "data after the document"
        case notACollection = "not a HAL collection"
    }

    public var reason: Reason
    public var offset: Int

    public var description: String { "\(self.reason.rawValue) at byte \(self.offset)" }
}

/// A single pass, validating JSON rewriter that turns Mode's HAL documents into plain JSON.
///
/// It never builds a tree: it walks the input bytes once, copies strings, numbers and literals
/// verbatim, and writes structure compactly. While it walks it:
/// - drops `_links` and `_forms` members at every depth;
/// - lifts the members of an `_embedded` object into the object that holds it (a key the object
///   already has is never replaced; among lifted members the first in document order wins);
/// - for a collection page, copies the items of `_embedded.<key>` into the caller's list.
///
/// Any input that is not valid JSON (RFC 8259, UTF-8) is refused with a ``TransformError``.
/// The output buffer grows as needed, so no assumption about sizes can overrun it.
struct HALRewriter {
    static let maxDepth = 512

    private let input: UnsafePointer<UInt8>
    private let inputCount: Int
    private var position = 0
    private var depth = 0
    let output: OutputBuffer

    init(input: UnsafeRawBufferPointer, output: OutputBuffer) {
        // An empty buffer may have a nil base address; point at a static empty byte instead.
        self.input = input.baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) } ?? HALRewriter.emptyInput
        self.inputCount = input.count
        self.output = output
    }

    /// Never written; immutable after its one initialisation.
    private nonisolated(unsafe) static let emptyInput: UnsafePointer<UInt8> = {
        let pointer = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
        pointer.initialize(to: 0)
        return UnsafePointer(pointer)
    }()

    // MARK: Entry points

    /// Rewrites one whole document (any JSON value) into the output.
    mutating func rewriteDocument() throws(TransformError) {
        try self.rewriteValue()
        try self.expectEndOfInput()
    }

    /// Reads one collection page: copies the rewritten items of `_embedded.<itemsKey>` into the
    /// output, each preceded by a comma unless it is the first item of the whole list.
    /// Everything else on the page is validated and dropped.
    /// - Returns: how many items were copied and a hash of the raw item bytes, to detect a page seen before.
    mutating func rewriteCollectionPage(
        itemsKey: String,
        itemsSoFar: Int
    ) throws(TransformError) -> (count: Int, signature: Int) {
        self.skipWhitespace()
        guard self.peek() == Byte.openBrace else {
            throw TransformError(reason: .notACollection, offset: self.position)
        }
        self.position += 1
        var count = 0
        var signature = Hasher()
        var foundItems = false
        var sawEmbedded = false
        try self.forEachMember { (rewriter: inout HALRewriter, key: KeyRange) throws(TransformError) in
            guard rewriter.keyEquals(key, Key.embedded), rewriter.peek() == Byte.openBrace else {
                try rewriter.skipValue()
                return
            }
            sawEmbedded = true
            rewriter.position += 1
            try rewriter.forEachMember { (rewriter: inout HALRewriter, innerKey: KeyRange) throws(TransformError) in
                guard !foundItems, rewriter.keyEquals(innerKey, itemsKey) else {
                    try rewriter.skipValue()
                    return
                }
                guard rewriter.peek() == Byte.openBracket else {
                    throw TransformError(reason: .notACollection, offset: rewriter.position)
                }
                foundItems = true
                let arrayStart = rewriter.position
                count = try rewriter.copyArrayElements(leadingComma: itemsSoFar > 0)
                signature.combine(
                    bytes: UnsafeRawBufferPointer(start: rewriter.input + arrayStart, count: rewriter.position - arrayStart)
                )
            }
        }
        try self.expectEndOfInput()
        if sawEmbedded && !foundItems {
            throw TransformError(reason: .notACollection, offset: self.position)
        }
        return (count, signature.finalize())
    }

    // MARK: Values

    private mutating func rewriteValue() throws(TransformError) {
        self.skipWhitespace()
        guard self.position < self.inputCount else { throw self.error(.unexpectedEnd) }
        switch self.input[self.position] {
        case Byte.openBrace:
            self.position += 1
            try self.enter()
            self.output.append(Byte.openBrace)
            var wroteMember = false
            try self.rewriteMembers(wroteMember: &wroteMember, taken: nil, objectStart: self.position)
            self.output.append(Byte.closeBrace)
            self.depth -= 1
        case Byte.openBracket:
            try self.enter()
            _ = try self.copyArrayElements(leadingComma: false, brackets: true)
            self.depth -= 1
        default:
            try self.copyScalar()
        }
    }

    /// Copies the rewritten elements of the array at the current position.
    /// - Returns: the number of elements.
    private mutating func copyArrayElements(leadingComma: Bool, brackets: Bool = false) throws(TransformError) -> Int {
        if brackets { self.output.append(Byte.openBracket) }
        let count = try self.forEachElement { (rewriter: inout HALRewriter, index: Int) throws(TransformError) in
            if index > 0 || leadingComma { rewriter.output.append(Byte.comma) }
            try rewriter.rewriteValue()
        }
        if brackets { self.output.append(Byte.closeBracket) }
        return count
    }

    /// Calls `body` for each element of the array at the current position (its `[`), positioned
    /// at the element; `body` must consume it. Consumes the closing `]`.
    /// - Returns: the number of elements.
    private mutating func forEachElement(
        _ body: (inout HALRewriter, Int) throws(TransformError) -> Void
    ) throws(TransformError) -> Int {
        self.position += 1  // [
        self.skipWhitespace()
        if self.peek() == Byte.closeBracket {
            self.position += 1
            return 0
        }
        var count = 0
        while true {
            try body(&self, count)
            count += 1
            self.skipWhitespace()
            guard self.position < self.inputCount else { throw self.error(.unexpectedEnd) }
            let byte = self.input[self.position]
            self.position += 1
            if byte == Byte.comma { continue }
            if byte == Byte.closeBracket { return count }
            throw TransformError(reason: .unexpectedByte, offset: self.position - 1)
        }
    }

    /// Writes the members of the object whose `{` was just read, dropping HAL members.
    /// - Parameters:
    ///   - wroteMember: whether the object being written already has a member (so the next needs a comma).
    ///   - taken: while lifting an `_embedded` object, the keys the target object already has.
    ///   - objectStart: the position just after this object's `{`, to collect its own keys.
    private mutating func rewriteMembers(
        wroteMember: inout Bool,
        taken: UnsafeMutablePointer<KeySet>?,
        objectStart: Int
    ) throws(TransformError) {
        try self.forEachMember { (rewriter: inout HALRewriter, key: KeyRange) throws(TransformError) in
            if key.length == 6 || key.length == 9 || key.hasEscapes {
                if rewriter.keyEquals(key, Key.links) || rewriter.keyEquals(key, Key.forms) {
                    try rewriter.skipValue()
                    return
                }
                if rewriter.keyEquals(key, Key.embedded) {
                    try rewriter.liftEmbedded(wroteMember: &wroteMember, taken: taken, holderStart: objectStart)
                    return
                }
            }
            if let taken {
                if rewriter.contains(taken.pointee, key) {
                    try rewriter.skipValue()
                    return
                }
                taken.pointee.ranges.append(key)
            }
            if wroteMember { rewriter.output.append(Byte.comma) }
            wroteMember = true
            rewriter.output.append(rewriter.input + key.start, count: key.end - key.start)
            rewriter.output.append(Byte.colon)
            try rewriter.rewriteValue()
        }
    }

    private mutating func liftEmbedded(
        wroteMember: inout Bool,
        taken: UnsafeMutablePointer<KeySet>?,
        holderStart: Int
    ) throws(TransformError) {
        self.skipWhitespace()
        guard self.peek() == Byte.openBrace else {
            // Only an object can be lifted; anything else is HAL metadata of no use to a caller.
            try self.skipValue()
            return
        }
        self.position += 1
        try self.enter()
        let liftedStart = self.position
        if let taken {
            try self.rewriteMembers(wroteMember: &wroteMember, taken: taken, objectStart: liftedStart)
        } else {
            var ownKeys = try self.ownKeys(ofObjectAt: holderStart)
            try withUnsafeMutablePointer(to: &ownKeys) { (pointer) throws(TransformError) in
                try self.rewriteMembers(wroteMember: &wroteMember, taken: pointer, objectStart: liftedStart)
            }
        }
        self.depth -= 1
    }

    /// The keys of the object starting just after `start`, other than the HAL ones. Runs a
    /// separate scan, so it costs only for the rare object that holds an `_embedded`.
    private func ownKeys(ofObjectAt start: Int) throws(TransformError) -> KeySet {
        var scanner = self  // shares the output, which a scan never writes
        scanner.position = start
        var keys = KeySet()
        try scanner.forEachMember { (scanner: inout HALRewriter, key: KeyRange) throws(TransformError) in
            if !scanner.keyEquals(key, Key.links) && !scanner.keyEquals(key, Key.forms) && !scanner.keyEquals(key, Key.embedded) {
                keys.ranges.append(key)
            }
            try scanner.skipValue()
        }
        return keys
    }

    /// Whether `set` holds a key with the same (decoded) name as `key`.
    private func contains(_ set: KeySet, _ key: KeyRange) -> Bool {
        set.ranges.contains { other in
            if !other.hasEscapes && !key.hasEscapes {
                return other.length == key.length && memcmp(self.input + other.start, self.input + key.start, other.end - other.start) == 0
            }
            return self.decodedKey(other) == self.decodedKey(key)
        }
    }

    /// Calls `body` for each member of the object whose `{` was just read, positioned at the
    /// member's value; `body` must consume the value. Consumes the closing `}`.
    private mutating func forEachMember(
        _ body: (inout HALRewriter, KeyRange) throws(TransformError) -> Void
    ) throws(TransformError) {
        self.skipWhitespace()
        if self.peek() == Byte.closeBrace {
            self.position += 1
            return
        }
        while true {
            self.skipWhitespace()
            guard self.peek() == Byte.quote else { throw self.error(.unexpectedByte) }
            let key = try self.scanString()
            self.skipWhitespace()
            guard self.peek() == Byte.colon else { throw self.error(.unexpectedByte) }
            self.position += 1
            self.skipWhitespace()
            try body(&self, key)
            self.skipWhitespace()
            guard self.position < self.inputCount else { throw self.error(.unexpectedEnd) }
            let byte = self.input[self.position]
            self.position += 1
            if byte == Byte.comma { continue }
            if byte == Byte.closeBrace { return }
            throw TransformError(reason: .unexpectedByte, offset: self.position - 1)
        }
    }

    /// Validates and passes over one value without writing anything.
    private mutating func skipValue() throws(TransformError) {
        self.skipWhitespace()
        guard self.position < self.inputCount else { throw self.error(.unexpectedEnd) }
        switch self.input[self.position] {
        case Byte.openBrace:
            self.position += 1
            try self.enter()
            try self.forEachMember { (rewriter: inout HALRewriter, _: KeyRange) throws(TransformError) in
                try rewriter.skipValue()
            }
            self.depth -= 1
        case Byte.openBracket:
            try self.enter()
            _ = try self.forEachElement { (rewriter: inout HALRewriter, _: Int) throws(TransformError) in
                try rewriter.skipValue()
            }
            self.depth -= 1
        case Byte.quote:
            _ = try self.scanString()
        default:
            try self.scanScalar()
        }
    }

    private mutating func copyScalar() throws(TransformError) {
        let start = self.position
        if self.input[start] == Byte.quote {
            _ = try self.scanString()
        } else {
            try self.scanScalar()
        }
        self.output.append(self.input + start, count: self.position - start)
    }

    // MARK: Scalars

    /// Scans a string starting at its opening quote. Returns the range including both quotes.
    private mutating func scanString() throws(TransformError) -> KeyRange {
        let start = self.position
        var index = start + 1
        var hasEscapes = false
        let input = self.input
        let count = self.inputCount
        while true {
            // Fast path: plain printable ASCII, eight bytes at a time, then byte by byte.
            index = Self.skipPlainASCII(input, from: index, count: count)
            while index < count {
                let byte = input[index]
                if byte == Byte.quote || byte == Byte.backslash || byte < 0x20 || byte >= 0x80 { break }
                index += 1
            }
            guard index < count else { throw TransformError(reason: .unexpectedEnd, offset: index) }
            let byte = input[index]
            if byte == Byte.quote {
                self.position = index + 1
                return KeyRange(start: start, end: index + 1, hasEscapes: hasEscapes)
            } else if byte == Byte.backslash {
                hasEscapes = true
                index = try self.scanEscape(at: index)
            } else if byte < 0x20 {
                throw TransformError(reason: .invalidString, offset: index)
            } else {
                index = try self.scanUTF8(at: index)
            }
        }
    }

    /// The index of the first byte at or after `index` that is a quote, a backslash, a control
    /// character or non-ASCII, looking at eight bytes per step (SWAR); may stop up to seven
    /// bytes early, before the last whole word.
    @inline(__always)
    private static func skipPlainASCII(_ input: UnsafePointer<UInt8>, from start: Int, count: Int) -> Int {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        var index = start
        while index + 8 <= count {
            let word = UInt64(littleEndian: UnsafeRawPointer(input + index).loadUnaligned(as: UInt64.self))
            let quotes = word ^ (ones &* UInt64(Byte.quote))
            let backslashes = word ^ (ones &* UInt64(Byte.backslash))
            // A byte is flagged when it is zero after the xor (a quote or backslash), below 0x20,
            // or has its high bit set. Borrows can only flag bytes above the first real one.
            let special =
                ((quotes &- ones) & ~quotes) | ((backslashes &- ones) & ~backslashes) | ((word &- ones &* 0x20) & ~word) | word
            let flagged = special & highs
            if flagged != 0 {
                return index + flagged.trailingZeroBitCount / 8
            }
            index += 8
        }
        return index
    }

    /// Validates the escape sequence at `index` (its backslash) and returns the index after it.
    private func scanEscape(at index: Int) throws(TransformError) -> Int {
        guard index + 1 < self.inputCount else { throw TransformError(reason: .unexpectedEnd, offset: index) }
        switch self.input[index + 1] {
        case Byte.quote, Byte.backslash, UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
            UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            return index + 2
        case UInt8(ascii: "u"):
            guard index + 6 <= self.inputCount else { throw TransformError(reason: .unexpectedEnd, offset: index) }
            for offset in 2..<6 where HexDigits.value(of: self.input[index + offset]) == nil {
                throw TransformError(reason: .invalidEscape, offset: index)
            }
            return index + 6
        default:
            throw TransformError(reason: .invalidEscape, offset: index)
        }
    }

    /// Validates one multi-byte UTF-8 sequence at `index` and returns the index after it.
    private func scanUTF8(at index: Int) throws(TransformError) -> Int {
        let lead = self.input[index]
        let length: Int
        var lowerBound: UInt8 = 0x80
        var upperBound: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0:
            length = 3
            lowerBound = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED:
            length = 3
            upperBound = 0x9F
        case 0xF0:
            length = 4
            lowerBound = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4:
            length = 4
            upperBound = 0x8F
        default: throw TransformError(reason: .invalidUTF8, offset: index)
        }
        guard index + length <= self.inputCount else { throw TransformError(reason: .invalidUTF8, offset: index) }
        let second = self.input[index + 1]
        guard second >= lowerBound && second <= upperBound else { throw TransformError(reason: .invalidUTF8, offset: index) }
        for offset in 2..<length where self.input[index + offset] & 0xC0 != 0x80 {
            throw TransformError(reason: .invalidUTF8, offset: index)
        }
        return index + length
    }

    /// Scans a number or a literal (`true`, `false`, `null`).
    private mutating func scanScalar() throws(TransformError) {
        let byte = self.input[self.position]
        switch byte {
        case UInt8(ascii: "t"): try self.scanLiteral("true")
        case UInt8(ascii: "f"): try self.scanLiteral("false")
        case UInt8(ascii: "n"): try self.scanLiteral("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try self.scanNumber()
        default: throw self.error(.unexpectedByte)
        }
    }

    private mutating func scanLiteral(_ literal: StaticString) throws(TransformError) {
        let length = literal.utf8CodeUnitCount
        guard self.position + length <= self.inputCount,
            memcmp(self.input + self.position, literal.utf8Start, length) == 0
        else { throw self.error(.invalidLiteral) }
        self.position += length
    }

    private mutating func scanNumber() throws(TransformError) {
        let start = self.position
        var index = start
        let count = self.inputCount
        func digits(from index: inout Int) -> Int {
            let first = index
            while index < count, self.input[index] &- UInt8(ascii: "0") < 10 { index += 1 }
            return index - first
        }
        if self.input[index] == UInt8(ascii: "-") { index += 1 }
        guard index < count else { throw TransformError(reason: .invalidNumber, offset: start) }
        if self.input[index] == UInt8(ascii: "0") {
            index += 1
        } else if digits(from: &index) == 0 {
            throw TransformError(reason: .invalidNumber, offset: start)
        }
        if index < count, self.input[index] == UInt8(ascii: ".") {
            index += 1
            guard digits(from: &index) > 0 else { throw TransformError(reason: .invalidNumber, offset: start) }
        }
        if index < count, self.input[index] | 0x20 == UInt8(ascii: "e") {
            index += 1
            if index < count, self.input[index] == UInt8(ascii: "+") || self.input[index] == UInt8(ascii: "-") { index += 1 }
            guard digits(from: &index) > 0 else { throw TransformError(reason: .invalidNumber, offset: start) }
        }
        self.position = index
    }

    // MARK: Helpers

    private mutating func enter() throws(TransformError) {
        self.depth += 1
        if self.depth > Self.maxDepth { throw self.error(.tooDeep) }
    }

    private mutating func expectEndOfInput() throws(TransformError) {
        self.skipWhitespace()
        if self.position != self.inputCount { throw self.error(.trailingData) }
    }

    @inline(__always)
    private mutating func skipWhitespace() {
        while self.position < self.inputCount {
            switch self.input[self.position] {
            case 0x20, 0x0A, 0x0D, 0x09: self.position += 1
            default: return
            }
        }
    }

    @inline(__always)
    private func peek() -> UInt8? {
        self.position < self.inputCount ? self.input[self.position] : nil
    }

    private func error(_ reason: TransformError.Reason) -> TransformError {
        TransformError(reason: reason, offset: self.position)
    }

    /// Whether the key (a string range with quotes) names `name`, escapes decoded.
    @inline(__always)
    private func keyEquals(_ key: KeyRange, _ name: StaticString) -> Bool {
        let count = name.utf8CodeUnitCount
        if key.hasEscapes {
            return self.decodedKey(key).elementsEqual(UnsafeBufferPointer(start: name.utf8Start, count: count))
        }
        return count == key.length && memcmp(self.input + key.start + 1, name.utf8Start, count) == 0
    }

    private func keyEquals(_ key: KeyRange, _ name: String) -> Bool {
        var name = name
        return name.withUTF8 { utf8 in
            if key.hasEscapes { return self.decodedKey(key).elementsEqual(utf8) }
            return utf8.count == key.length && (utf8.count == 0 || memcmp(self.input + key.start + 1, utf8.baseAddress!, utf8.count) == 0)
        }
    }

    /// The key's bytes with its escapes decoded; exact for any valid key.
    private func decodedKey(_ key: KeyRange) -> [UInt8] {
        let raw = UnsafeBufferPointer(start: self.input + key.start + 1, count: key.length)
        guard key.hasEscapes else { return Array(raw) }
        return JSONString.unescape(raw)
    }
}

/// A string token's place in the input, quotes included.
struct KeyRange {
    var start: Int
    var end: Int
    var hasEscapes: Bool
    /// The length of the raw content between the quotes.
    var length: Int { self.end - self.start - 2 }
}

/// Keys of one document, by their place in it. Objects are small, so a list beats hashing.
struct KeySet {
    var ranges: [KeyRange] = []
}

enum Key {
    static let links: StaticString = "_links"
    static let forms: StaticString = "_forms"
    static let embedded: StaticString = "_embedded"
}

enum Byte {
    static let quote = UInt8(ascii: "\"")
    static let backslash = UInt8(ascii: "\\")
    static let openBrace = UInt8(ascii: "{")
    static let closeBrace = UInt8(ascii: "}")
    static let openBracket = UInt8(ascii: "[")
    static let closeBracket = UInt8(ascii: "]")
    static let comma = UInt8(ascii: ",")
    static let colon = UInt8(ascii: ":")
}
