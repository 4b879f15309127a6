import Foundation
import Testing

@testable import GatewayFuzzing
@testable import ModeGateway

/// The fuzzers' properties over their corpus (seeds, and every input a fuzzer ever failed on),
/// so they hold in every test run, not only when someone runs scripts/fuzz.sh.
@Suite("The fuzzers' corpus")
struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appending(path: "../../Fuzz/corpus").standardized

    static func inputs(_ target: String) throws -> [(String, [UInt8])] {
        let folder = Self.corpus.appending(path: target)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        return try names.map { ($0, Array(try Data(contentsOf: folder.appending(path: $0)))) }
    }

    @Test("The HAL rewriter agrees with Foundation on every input in Fuzz/corpus/hal")
    func hal() throws {
        let inputs = try Self.inputs("hal")
        #expect(inputs.count >= 4)
        for (name, input) in inputs {
            let failure = FuzzChecks.halRewriter(input)
            #expect(failure == nil, "\(name): \(failure ?? "")")
        }
    }

    @Test("The query parser's properties hold on every input in Fuzz/corpus/query")
    func query() throws {
        let inputs = try Self.inputs("query")
        #expect(inputs.count >= 4)
        for (name, input) in inputs {
            let failure = FuzzChecks.queryParser(input)
            #expect(failure == nil, "\(name): \(failure ?? "")")
        }
    }

    @Test("The oracle sees a repeated key however it is spelled, and only within one object")
    func repeatedKeys() {
        #expect(FoundationOracle.hasRepeatedKey(Array(#"{"a":1,"\u0061":2}"#.utf8)))
        #expect(!FoundationOracle.hasRepeatedKey(Array(#"{"a":{"a":1},"b":[{"a":2}]}"#.utf8)))
    }

    @Test("What the fuzzers found are differences from Foundation, each still there and each allowed for")
    func findings() throws {
        let hal = Dictionary(uniqueKeysWithValues: try Self.inputs("hal"))
        func foundationReads(_ input: [UInt8]) -> Bool { (try? FoundationOracle.parse(input)) != nil }
        func gatewayReads(_ input: [UInt8]) -> Bool { (try? HALTransform.object(input)) != nil }
        // Accepted by the rewriter (valid JSON), refused by Foundation.
        for name in ["found-unpaired-surrogate.json", "found-huge-number.json"] {
            let input = try #require(hal[name])
            #expect(gatewayReads(input) && !foundationReads(input), "\(name)")
        }
        // Tamed for Foundation: only real escapes and real numbers, never text inside strings.
        #expect(FuzzChecks.tamed(Array(#"["\ud83d", 5e1010, -1.5E+400]"#.utf8)) == Array(#"["\u0041", 5e0, -1.5E+0]"#.utf8))
        #expect(
            FuzzChecks.tamed(Array(#"["\\ud800", "e100", "release2024", 1e10]"#.utf8)) == Array(#"["\\ud800", "e100", "release2024", 1e10]"#.utf8)
        )
        #expect(FuzzChecks.halRewriter(Array(#"[01e100]"#.utf8)) == nil, "a leading zero is refused by both")
        // A malformed long number is left as it is: taming never excuses it.
        let malformed = Array(String(repeating: "1", count: 300).utf8) + Array(".".utf8)
        #expect(FuzzChecks.tamed(malformed) == malformed)
        #expect(FuzzChecks.isNumber(Array("-0.5e+10".utf8)) && !FuzzChecks.isNumber(Array("1.".utf8)) && !FuzzChecks.isNumber(Array("01".utf8)))
        // Read by Foundation (a trailing comma; UTF-16 guessed from a NUL), refused by the rewriter.
        for name in ["found-trailing-comma.json", "found-utf16-guess.json"] {
            let input = try #require(hal[name])
            #expect(!gatewayReads(input) && foundationReads(input), "\(name)")
        }
        #expect(FuzzChecks.isTrailingComma(Array("[1, ]".utf8), at: 4) && !FuzzChecks.isTrailingComma(Array("[1]".utf8), at: 2))
        // Before 1583 Foundation's calendar is Julian: two days apart in the year 24.
        let query = Dictionary(uniqueKeysWithValues: try Self.inputs("query"))
        #expect(query["found-julian-year"] != nil)
        let formatter = ISO8601DateFormatter()
        let julian = try #require(formatter.date(from: "0024-01-01T00:00:00Z"))
        let gregorian = try #require(ISO8601Timestamp("0024-01-01T00:00:00Z"))
        #expect(gregorian.canonical.hasPrefix("-61409836800.") && julian.timeIntervalSince1970 == -61_410_009_600)
    }
}
