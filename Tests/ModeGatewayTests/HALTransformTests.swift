import Foundation
import GatewayFuzzing
import NIOCore
import Testing

@testable import ModeGateway

@Suite("The byte-level HAL rewriter")
struct HALTransformTests {
    func rewrite(_ text: String) throws -> String {
        String(decoding: try HALTransform.object(Array(text.utf8)), as: UTF8.self)
    }

    @Test("Agrees with Foundation's strip on 3000 generated documents")
    func foundationOracle() throws {
        for seed in UInt64(1)...3000 {
            var generator = JSONDocumentGenerator(seed: seed)
            let document = Array(generator.document().utf8)
            let output = try HALTransform.object(document)
            let expected = try FoundationOracle.canonical(FoundationOracle.strip(FoundationOracle.parse(document)))
            let actual = try FoundationOracle.canonical(FoundationOracle.parse(output))
            #expect(actual == expected, "seed \(seed): \(String(decoding: document, as: UTF8.self))")
            if actual != expected { return }
        }
    }

    @Test("Removes _links and _forms at every depth, in arrays too")
    func stripsEverywhere() throws {
        #expect(
            try self.rewrite(#"{"a":1,"_links":{"self":{"href":"/x"}},"b":[{"_forms":{},"c":2},{"_links":[]}],"_forms":null}"#)
                == #"{"a":1,"b":[{"c":2},{}]}"#
        )
        #expect(try self.rewrite(#"[{"_links":1},{"_links":2,"x":[{"_links":3,"y":4}]}]"#) == #"[{},{"x":[{"y":4}]}]"#)
    }

    @Test("Leaves the text _links alone inside string values")
    func textInsideStrings() throws {
        let input = #"{"note":"_links","quote":"{\"_links\":1}","k":"\"_forms\""}"#
        #expect(try self.rewrite(input) == input)
    }

    @Test("Recognises HAL keys written with escapes")
    func escapedKeys() throws {
        #expect(try self.rewrite(#"{"\u005flinks":1,"_form\u0073":2,"a":"b"}"#) == #"{"a":"b"}"#)
        #expect(try self.rewrite(#"{"\u005f\u0065mbedded":{"x":1}}"#) == #"{"x":1}"#)
    }

    @Test("Lifts _embedded into its object; the object's own keys win")
    func liftsEmbedded() throws {
        #expect(try self.rewrite(#"{"a":1,"_embedded":{"b":{"_links":{},"c":2},"d":3}}"#) == #"{"a":1,"b":{"c":2},"d":3}"#)
        #expect(try self.rewrite(#"{"_embedded":{"a":9,"b":2},"a":1}"#) == #"{"b":2,"a":1}"#)
        #expect(try self.rewrite(#"{"_embedded":{"x":1,"_embedded":{"y":2,"x":3}}}"#) == #"{"x":1,"y":2}"#)
        #expect(try self.rewrite(#"{"_embedded":[1,2],"a":1}"#) == #"{"a":1}"#)
        #expect(try self.rewrite(#"{"_embedded":{}}"#) == #"{}"#)
    }

    @Test("Copies strings, unicode and numbers byte for byte", arguments: JSONDocumentGenerator.numbers)
    func numbers(number: String) throws {
        #expect(try self.rewrite("[\(number)]") == "[\(number)]")
        #expect(try self.rewrite(#"{"n":\#(number),"s":"é\u00e9 🚀 \ud83d\ude80 \\ \/"}"#) == #"{"n":\#(number),"s":"é\u00e9 🚀 \ud83d\ude80 \\ \/"}"#)
    }

    @Test("Finds escapes, non-ASCII and control bytes at every offset of the eight-byte fast path")
    func wordBoundaries() throws {
        for offset in 0..<20 {
            for tail in [0, 1, 7, 8, 9] {
                let prefix = String(repeating: "a", count: offset)
                let suffix = String(repeating: "b", count: tail)
                for special in ["\\\"", "\\\\", "\\u00e9", "é", "🚀", "\\n"] {
                    let document = "{\"k\":\"\(prefix)\(special)\(suffix)\",\"_links\":\"\(prefix)\(special)\(suffix)\"}"
                    #expect(try self.rewrite(document) == "{\"k\":\"\(prefix)\(special)\(suffix)\"}", "\(document)")
                }
                #expect(throws: TransformError.self) { try self.rewrite("[\"\(prefix)\u{01}\(suffix)\"]") }
                #expect(throws: TransformError.self) { try HALTransform.object(Array("[\"\(prefix)".utf8) + [0xFF] + Array("\(suffix)\"]".utf8)) }
                #expect(throws: TransformError.self) { try self.rewrite("[\"\(prefix)\(suffix)") }
            }
        }
    }

    @Test("Handles deep nesting up to the limit and refuses beyond it")
    func depth() throws {
        let deep = String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
        #expect(try self.rewrite(deep) == deep)
        let tooDeep = String(repeating: "{\"a\":", count: 600) + "1" + String(repeating: "}", count: 600)
        #expect(throws: TransformError.self) { try self.rewrite(tooDeep) }
    }

    @Test(
        "Refuses invalid JSON",
        arguments: [
            "", "{", "}", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "[1,]", "[1 2]", "{\"a\":1}x", "{'a':1}", "\"abc",
            "tru", "nul", "01", "1.", "-", "1e", ".5", "+1", "NaN", "\"\\x\"", "\"\\u12G4\"", "\"a\u{01}b\"",
            "{\"a\":1 \"b\":2}", "[\"\\\"]", "{\"_links\":}", "{\"_links\":[1,}",
        ]
    )
    func invalid(text: String) {
        #expect(throws: TransformError.self) { try self.rewrite(text) }
    }

    @Test("Refuses invalid UTF-8")
    func invalidUTF8() {
        for bytes: [UInt8] in [[0x22, 0xC3, 0x22], [0x22, 0xFF, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xC0, 0xAF, 0x22]] {
            #expect(throws: TransformError.self) { try HALTransform.object(bytes) }
        }
    }

    @Test("Builds a complete list from pages and stops on an empty or repeated page")
    func collectionPages() throws {
        let builder = CollectionBuilder(itemsKey: "reports")
        let page1 =
            #"{"_links":{"next_page":{"href":"?page=2"}},"pagination":{"total_count":3},"_embedded":{"reports":[{"token":"a","_links":{}},{"token":"b"}]}}"#
        let page2 = #"{"_links":{},"_embedded":{"other":[9],"reports":[{"token":"c","_embedded":{"x":1}}]}}"#
        #expect(try builder.add(page: ByteBuffer(string: page1)) == .appended(2))
        #expect(try builder.add(page: ByteBuffer(string: page2)) == .appended(1))
        #expect(try builder.add(page: ByteBuffer(string: page1)) == .repeated)
        #expect(try builder.add(page: ByteBuffer(string: #"{"_embedded":{"reports":[]}}"#)) == .empty)
        #expect(String(buffer: builder.finish()) == #"{"items":[{"token":"a"},{"token":"b"},{"token":"c","x":1}],"count":3}"#)
    }

    @Test("Refuses pages that are not HAL collections")
    func notCollections() throws {
        for page in ["[1]", #"{"_embedded":{"other":[]}}"#, #"{"_embedded":{"reports":{}}}"#, #"{"_embedded":{"reports":[1,]}}"#] {
            let builder = CollectionBuilder(itemsKey: "reports")
            #expect(throws: TransformError.self, "\(page)") { try builder.add(page: ByteBuffer(string: page)) }
        }
        let empty = CollectionBuilder(itemsKey: "reports")
        #expect(try empty.add(page: ByteBuffer(string: #"{"_links":{}}"#)) == .empty)
        #expect(String(buffer: empty.finish()) == #"{"items":[],"count":0}"#)
    }
}
