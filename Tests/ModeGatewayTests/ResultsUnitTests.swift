import Foundation
import NIOCore
import Testing

@testable import ModeGateway

@Suite("Rows: byte-order marks, NDJSON splitting and format negotiation")
struct ResultsUnitTests {
    /// Feeds `input` to a fresh stream in two chunks split at `offset`, and returns the output.
    static func run(_ input: [UInt8], format: ResultFormat, splits: [Int]) throws -> [UInt8] {
        var stream = RowStream(format: format)
        var output: [UInt8] = []
        var start = 0
        for split in splits + [input.count] {
            let chunk = ByteBuffer(bytes: input[start..<split])
            output += Array(buffer: try stream.feed(chunk))
            start = split
        }
        output += Array(buffer: try stream.finish())
        return output
    }

    @Test("A leading BOM is dropped wherever the chunks split, and only a leading one")
    func byteOrderMark() throws {
        let body = Array("id,name\r\n1,\u{FEFF}x\r\n".utf8)
        let withMark = [0xEF, 0xBB, 0xBF] + body
        for offset in 0...withMark.count {
            #expect(try Self.run(withMark, format: .csv, splits: [offset]) == body, "split at \(offset)")
            #expect(try Self.run(body, format: .csv, splits: [min(offset, body.count)]) == body)
        }
        #expect(try Self.run([0xEF, 0xBB], format: .csv, splits: []) == [0xEF, 0xBB], "a short body is passed on")
        #expect(try Self.run([], format: .json, splits: []) == [])
    }

    @Test("NDJSON: one element per line, copied as written, for a split at every offset")
    func ndjsonSplits() throws {
        let json = #" [ {"a":"x,]}\"{","b":[1,{"c":2}]} , {"d":null},"s,\"t",12.5e3 ,true,[], {} ] "#
        let expected = #"{"a":"x,]}\"{","b":[1,{"c":2}]}"# + "\n" + #"{"d":null}"# + "\n" + #""s,\"t""# + "\n12.5e3\ntrue\n[]\n{}\n"
        let bytes = [0xEF, 0xBB, 0xBF] + Array(json.utf8)
        for first in 0...bytes.count {
            let output = try Self.run(bytes, format: .ndjson, splits: [first])
            #expect(String(decoding: output, as: UTF8.self) == expected, "split at \(first)")
        }
        for size in 1...4 {
            let splits = Array(stride(from: size, to: bytes.count, by: size))
            #expect(String(decoding: try Self.run(bytes, format: .ndjson, splits: splits), as: UTF8.self) == expected)
        }
        #expect(try Self.run(Array("[]".utf8), format: .ndjson, splits: [1]).isEmpty)
        // Pretty-printed rows still come out one per line.
        let pretty = Array("[\n  {\n    \"a\": 1,\n    \"b\": [ 2, 3 ],\n    \"s\": \"x y\"\n  },\n  { }\n]\n".utf8)
        for offset in 0...pretty.count {
            let output = String(decoding: try Self.run(pretty, format: .ndjson, splits: [offset]), as: UTF8.self)
            #expect(output == "{\"a\":1,\"b\":[2,3],\"s\":\"x y\"}\n{}\n", "split at \(offset)")
        }
    }

    @Test("NDJSON refuses what is not one JSON array, without crashing")
    func ndjsonMalformed() {
        for bad in [#"{"a":1}"#, "[1,2", "[{\"a\":1}", "[1]]", "x", "[1] 2", "[}"] {
            #expect(throws: RowStream.Failure.malformed, "\(bad)") {
                try Self.run(Array(bad.utf8), format: .ndjson, splits: [bad.utf8.count / 2])
            }
        }
    }

    @Test("NDJSON output holds the same rows as the JSON, for generated documents")
    func ndjsonMatchesFoundation() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let rows = (0..<Int.random(in: 0...12, using: &generator)).map { index -> [String: Any] in
                ["id": index, "note": String((0..<Int.random(in: 0...20, using: &generator)).map { _ in "a,\"]}{\\ ü".randomElement() ?? "a" })]
            }
            let json = try JSONSerialization.data(withJSONObject: rows)
            let splits = [Int.random(in: 0...json.count, using: &generator)]
            let text = String(decoding: try Self.run(Array(json), format: .ndjson, splits: splits), as: UTF8.self)
            let lines = try text.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:] }
            #expect(NSArray(array: lines) == NSArray(array: rows))
        }
    }

    @Test("Formats: ?format= wins, then Accept with its q-values; anything else is 406")
    func negotiation() throws {
        let all: [ResultFormat] = [.json, .csv, .ndjson]
        #expect(try ResultFormat.negotiate(format: nil, accept: nil, offered: all) == .json)
        #expect(try ResultFormat.negotiate(format: "csv", accept: "application/json", offered: all) == .csv)
        #expect(try ResultFormat.negotiate(format: nil, accept: "*/*", offered: all) == .json)
        #expect(try ResultFormat.negotiate(format: nil, accept: "text/csv;q=0.5, application/x-ndjson", offered: all) == .ndjson)
        #expect(try ResultFormat.negotiate(format: nil, accept: "text/html, text/*;q=0.2", offered: all) == .csv)
        #expect(try ResultFormat.negotiate(format: nil, accept: "application/json;q=0, text/csv", offered: all) == .csv)
        #expect(throws: GatewayError.self) { try ResultFormat.negotiate(format: nil, accept: "text/html", offered: all) }
        #expect(throws: GatewayError.self) { try ResultFormat.negotiate(format: nil, accept: "text/csv", offered: [.json]) }
        #expect(throws: GatewayError.invalidQuery(parameter: "format", reason: "must be one of json, csv, ndjson.")) {
            try ResultFormat.negotiate(format: "xml", accept: nil, offered: all)
        }
    }
}
