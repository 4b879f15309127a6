import Foundation
import ModeGateway

/// The properties the fuzzers check, one function per target. Each takes any bytes and returns
/// what failed, or nil; the fuzz targets trap on a failure, so libFuzzer keeps the input.
/// `swift test` runs them over the corpus in `Fuzz/corpus`, so they stay compiled and true.
public enum FuzzChecks {
    /// The HAL rewriter against Foundation: it accepts exactly the JSON that Foundation's parser
    /// accepts (but for its nesting bound), and what it writes means what Foundation's reading of
    /// the same stripping means. Inputs with a repeated key are compared only for acceptance:
    /// which of two equal keys counts is not defined by JSON.
    public static func halRewriter(_ input: [UInt8]) -> String? {
        let ours: Result<[UInt8], TransformError>
        do throws(TransformError) {
            ours = .success(try HALTransform.object(input))
        } catch {
            ours = .failure(error)
        }
        // Foundation guesses UTF-16 or UTF-32 from NUL bytes ("\0 4" reads as 4); JSON from Mode
        // is UTF-8, where a NUL is never valid. The fuzzer's third finding.
        let foundation = input.contains(0) ? nil : try? FoundationOracle.parse(input)
        switch (ours, foundation) {
        case (.failure(let error), .some):
            // Foundation takes a trailing comma (`{"a":1,}`); RFC 8259, and the rewriter, do not.
            // The fuzzer's fourth finding.
            if Self.isTrailingComma(input, at: error.offset) { return nil }
            guard error.reason == .tooDeep else { return Self.failure("the rewriter refused JSON that Foundation reads (\(error))", input) }
            return nil
        case (.success, .none):
            // JSON's grammar allows an escaped surrogate without its pair, and a number past a
            // Double's range (`5e1010`); the rewriter passes both on as written, Foundation refuses
            // them (the fuzzer's first and fifth findings). Excused only when Foundation reads the
            // document once those, and nothing else, are made tame.
            guard (try? FoundationOracle.parse(Self.tamed(input))) == nil else { return nil }
            return Self.failure("the rewriter accepted what Foundation does not read as JSON", input)
        case (.success(let output), .some(let parsed)):
            guard let rewritten = try? FoundationOracle.parse(output) else {
                return Self.failure("the rewriter wrote what Foundation does not read as JSON", input)
            }
            guard !FoundationOracle.hasRepeatedKey(input) else { return nil }
            let expected = try? FoundationOracle.canonical(FoundationOracle.strip(parsed))
            let actual = try? FoundationOracle.canonical(rewritten)
            guard expected == actual else {
                return Self.failure("the rewriter and Foundation disagree: \(actual ?? "?") against \(expected ?? "?")", input)
            }
            return nil
        case (.failure, .none):
            return nil
        }
    }

    /// The query parser and a list's canonical key: parsing is total (an answer or an error, in
    /// time linear in the input); what it accepts survives a round trip through the encoding sent
    /// to Mode, cache key included; Mode's default order given or not is one key; and an instant
    /// that Foundation also reads is the same instant.
    public static func queryParser(_ input: [UInt8]) -> String? {
        guard let raw = String(validating: input, as: UTF8.self) else { return nil }
        guard let query = try? QueryCheck.parse(raw) else { return nil }
        // What is sent to Mode reads back as the same query, with the same cache key.
        if let upstream = query.upstream {
            guard let again = try? QueryCheck.parse(upstream), again.list == query.list, again.canonical == query.canonical else {
                return Self.failure("the query sent to Mode does not read back the same: \(upstream)", input)
            }
        }
        // Mode's default order, given or not, is one cache key.
        if query.list.order == nil, let spelled = try? QueryCheck.parse(raw + "&order=asc"), spelled.canonical != query.canonical {
            return Self.failure("order=asc changed the cache key: \(spelled.canonical) against \(query.canonical)", input)
        }
        guard let filter = query.list.filter else { return nil }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = filter.instant.text.contains(".") ? [.withInternetDateTime, .withFractionalSeconds] : [.withInternetDateTime]
        // Before 1583 Foundation counts in the Julian calendar; ISO 8601 (and the gateway) in the
        // proleptic Gregorian one. The fuzzer's second finding: a difference, not a fault.
        guard let year = Int(filter.instant.text.prefix(4)), year >= 1583 else { return nil }
        guard let date = formatter.date(from: filter.instant.text) else { return nil }
        let seconds = Int(filter.instant.canonical.prefix { $0 != "." }) ?? Int.min
        guard seconds == Int(date.timeIntervalSince1970.rounded(.down)) else {
            return Self.failure("\(filter.instant.text) is \(seconds) s, Foundation says \(date.timeIntervalSince1970)", input)
        }
        return nil
    }

    /// Whether the byte at `offset` closes an object or array right after a comma.
    static func isTrailingComma(_ input: [UInt8], at offset: Int) -> Bool {
        guard offset < input.count, input[offset] == UInt8(ascii: "}") || input[offset] == UInt8(ascii: "]") else { return false }
        var index = offset - 1
        while index >= 0, [0x20, 0x09, 0x0A, 0x0D].contains(input[index]) { index -= 1 }
        return index >= 0 && input[index] == UInt8(ascii: ",")
    }

    /// The document with each escaped surrogate (`\uD800`…`\uDFFF`) written `\u0041`, and
    /// each number whose exponent has three digits or more, or whose digits run to 300, written
    /// small; every other byte as it was. Strings and numbers are told apart by a scan that
    /// follows JSON's grammar, so text inside strings is never taken for a number.
    static func tamed(_ input: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(input.count)
        var index = 0
        while index < input.count {
            let byte = input[index]
            if byte == UInt8(ascii: "\"") {
                output.append(byte)
                index += 1
                while index < input.count, input[index] != UInt8(ascii: "\"") {
                    if input[index] == UInt8(ascii: "\\"), index + 1 < input.count {
                        if input[index + 1] == UInt8(ascii: "u"), index + 5 < input.count,
                            let unit = Self.utf16Unit(input[(index + 2)...(index + 5)]), (0xD800...0xDFFF).contains(unit)
                        {
                            output += Array(#"\u0041"#.utf8)
                            index += 6
                            continue
                        }
                        output += input[index...index + 1]
                        index += 2
                        continue
                    }
                    output.append(input[index])
                    index += 1
                }
                if index < input.count { output.append(input[index]) }
                index += 1
            } else if byte == UInt8(ascii: "-") || byte &- 0x30 < 10 {
                var end = index
                while end < input.count, Array("0123456789+-.eE".utf8).contains(input[end]) { end += 1 }
                let token = Array(input[index..<end])
                let split = token.firstIndex { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") } ?? token.count
                var mantissa = Array(token[..<split])
                var exponent = Array(token[split...])
                // Only a number JSON's grammar allows is made small: a malformed one stays as it
                // was, so Foundation still refuses it and the rewriter is not excused.
                if Self.isNumber(token) {
                    if mantissa.filter({ $0 &- 0x30 < 10 }).count >= 300 { mantissa = Array("1".utf8) }
                    let digits = exponent.drop { !($0 &- 0x30 < 10) }
                    if digits.count >= 3 { exponent = Array(exponent.prefix(exponent.count - digits.count)) + Array("0".utf8) }
                }
                output += mantissa + exponent
                index = end
            } else {
                output.append(byte)
                index += 1
            }
        }
        return output
    }

    /// Whether `token` is a number as JSON's grammar writes one:
    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    static func isNumber(_ token: [UInt8]) -> Bool {
        var index = 0
        func digits() -> Int {
            let start = index
            while index < token.count, token[index] &- 0x30 < 10 { index += 1 }
            return index - start
        }
        if index < token.count, token[index] == UInt8(ascii: "-") { index += 1 }
        let leading = index
        guard digits() > 0, token[leading] != UInt8(ascii: "0") || index == leading + 1 else { return false }
        if index < token.count, token[index] == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { return false }
        }
        if index < token.count, token[index] == UInt8(ascii: "e") || token[index] == UInt8(ascii: "E") {
            index += 1
            if index < token.count, token[index] == UInt8(ascii: "+") || token[index] == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { return false }
        }
        return index == token.count
    }

    /// Four hex digits as one UTF-16 code unit.
    private static func utf16Unit(_ digits: ArraySlice<UInt8>) -> UInt16? {
        var unit: UInt16 = 0
        for digit in digits {
            guard let value = HexDigits.value(of: digit) else { return nil }
            unit = unit << 4 | UInt16(value)
        }
        return unit
    }

    /// A list query as the gateway reads it: the parsed value, what goes to Mode, the cache key.
    private struct QueryCheck {
        var list: ListQuery
        var upstream: String?
        var canonical: String

        static func parse(_ raw: String) throws(GatewayError) -> QueryCheck {
            let list = try ListQuery.parse(raw)
            return QueryCheck(list: list, upstream: list.upstreamQuery(page: list.page), canonical: list.canonical)
        }
    }

    private static func failure(_ what: String, _ input: [UInt8]) -> String {
        "\(what)\ninput (\(input.count) bytes): \(String(decoding: input.prefix(300), as: UTF8.self))"
    }
}
