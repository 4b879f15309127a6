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
            // JSON's grammar allows an escaped surrogate without its pair, and the rewriter copies
            // strings as they are; Foundation refuses one. The fuzzer's first finding.
            guard !Self.hasSurrogateEscape(input) else { return nil }
            // A number past a Double's range (`5e1010`) is valid JSON, which the rewriter passes on
            // as written; Foundation refuses it. The fuzzer's fifth finding.
            guard !Self.hasHugeNumber(input) else { return nil }
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

    /// Whether the text holds an exponent of three digits or more, or a run of 300 digits: a
    /// number a Double may not hold.
    static func hasHugeNumber(_ input: [UInt8]) -> Bool {
        var digits = 0
        var afterExponent = false
        for byte in input {
            if byte &- UInt8(ascii: "0") < 10 {
                digits += 1
                if (afterExponent && digits >= 3) || digits >= 300 { return true }
            } else if byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
                afterExponent = true
                digits = 0
            } else if afterExponent, digits == 0, byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-") {
                continue
            } else {
                afterExponent = false
                digits = 0
            }
        }
        return false
    }

    /// Whether the byte at `offset` closes an object or array right after a comma.
    static func isTrailingComma(_ input: [UInt8], at offset: Int) -> Bool {
        guard offset < input.count, input[offset] == UInt8(ascii: "}") || input[offset] == UInt8(ascii: "]") else { return false }
        var index = offset - 1
        while index >= 0, [0x20, 0x09, 0x0A, 0x0D].contains(input[index]) { index -= 1 }
        return index >= 0 && input[index] == UInt8(ascii: ",")
    }

    /// Whether the text holds an escaped UTF-16 surrogate (`\\uD800` to `\\uDFFF`).
    static func hasSurrogateEscape(_ input: [UInt8]) -> Bool {
        guard input.count >= 6 else { return false }
        for index in 0..<(input.count - 5) where input[index] == UInt8(ascii: "\\") && input[index + 1] == UInt8(ascii: "u") {
            let high = input[index + 2] | 0x20
            let next = input[index + 3] | 0x20
            if high == UInt8(ascii: "d"),
                (UInt8(ascii: "8")...UInt8(ascii: "9")).contains(next) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(next)
            {
                return true
            }
        }
        return false
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
