import NIOCore
import Testing

@testable import GatewayRedis

@Suite("RESP3 parser")
struct RESP3ParserTests {
    /// One of every type the parser reads, with the value it must give.
    static let samples: [(bytes: String, value: RESP3Value)] = [
        ("+OK\r\n", .simpleString("OK")),
        ("-ERR wrong\r\n", .error("ERR wrong")),
        (":-42\r\n", .integer(-42)),
        ("$5\r\nhe\r\nl\r\n", .bulkString(ByteBuffer(string: "he\r\nl"))),
        ("$0\r\n\r\n", .bulkString(ByteBuffer())),
        ("$-1\r\n", .null),
        ("*-1\r\n", .null),
        ("_\r\n", .null),
        (",3.25\r\n", .double(3.25)),
        (",-inf\r\n", .double(-.infinity)),
        ("#t\r\n", .boolean(true)),
        ("(3492890328409238509324850943850943825024385\r\n", .bigNumber("3492890328409238509324850943850943825024385")),
        ("!9\r\nSYNTAX no\r\n", .error("SYNTAX no")),
        ("=15\r\ntxt:Some string\r\n", .bulkString(ByteBuffer(string: "Some string"))),
        ("*2\r\n:1\r\n*1\r\n+x\r\n", .array([.integer(1), .array([.simpleString("x")])])),
        ("~2\r\n+a\r\n+b\r\n", .array([.simpleString("a"), .simpleString("b")])),
        ("%1\r\n+server\r\n+redis\r\n", .map([.simpleString("server"): .simpleString("redis")])),
        (
            ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$3\r\nhi!\r\n",
            .push([.bulkString(ByteBuffer(string: "message")), .bulkString(ByteBuffer(string: "ch")), .bulkString(ByteBuffer(string: "hi!"))])
        ),
        ("|1\r\n+ttl\r\n:3600\r\n:7\r\n", .integer(7)),
    ]

    @Test("reads every type it supports")
    func readsEveryType() throws {
        for sample in Self.samples {
            var buffer = ByteBuffer(string: sample.bytes)
            let value = try RESP3Parser().parse(&buffer)
            #expect(value == sample.value, "\(sample.bytes.debugDescription)")
            #expect(buffer.readableBytes == 0)
        }
    }

    @Test("a stream cut at every offset gives the same values, and never a partial one")
    func splitAtEveryOffset() throws {
        let stream = Self.samples.map(\.bytes).joined()
        let bytes = Array(stream.utf8)
        let expected = Self.samples.map(\.value)
        for cut in 0...bytes.count {
            for second in [cut, min(bytes.count, cut + 1), min(bytes.count, cut + 7)] {
                var received = ByteBuffer()
                var values: [RESP3Value] = []
                for piece in [bytes[0..<cut], bytes[cut..<second], bytes[second...]] {
                    received.writeBytes(piece)
                    while let value = try RESP3Parser().parse(&received) { values.append(value) }
                }
                #expect(values == expected, "cut at \(cut) and \(second)")
                #expect(received.readableBytes == 0)
            }
        }
    }

    @Test("malformed input throws instead of crashing or waiting for ever")
    func malformedInput() {
        let bad = [
            "?what\r\n", ":12x\r\n", "$-2\r\n", "$3\r\nabcde", "*-5\r\n", "#x\r\n", ",nope\r\n", "_x\r\n",
            "*1\r\n$2\r\nab\r\r", "+OK\rX", "%-1\r\n", "$?\r\n", "*?\r\n", "(12a\r\n", "=2\r\nab\r\n",
            String(repeating: "*1\r\n", count: 40) + ":1\r\n",
            // A run of attributes counts as nesting: it once recursed until the stack overflowed.
            String(repeating: "|0\r\n", count: 100_000) + "+OK\r\n",
        ]
        for input in bad {
            var buffer = ByteBuffer(string: input)
            #expect(throws: RedisError.self, "\(input.debugDescription)") { _ = try RESP3Parser().parse(&buffer) }
        }
        // Lengths past the bounds are refused before anything is allocated for them.
        var huge = ByteBuffer(string: "$99999999999\r\n")
        #expect(throws: RedisError.self) { _ = try RESP3Parser(maxBulkLength: 1024).parse(&huge) }
        var wide = ByteBuffer(string: "*9999999999\r\n")
        #expect(throws: RedisError.self) { _ = try RESP3Parser().parse(&wide) }
        var longLine = ByteBuffer(string: "+" + String(repeating: "a", count: 70_000))
        #expect(throws: RedisError.self) { _ = try RESP3Parser().parse(&longLine) }
    }

    @Test("a map of many keys of one length is read in linear time: keys hash by their bytes")
    func mapKeysHashByContent() throws {
        let count = 20_000
        var text = "%\(count)\r\n"
        for index in 0..<count {
            let digits = String(index)
            text += "$8\r\n" + String(repeating: "0", count: 8 - digits.count) + digits + "\r\n:1\r\n"
        }
        var buffer = ByteBuffer(string: text)
        let value = try #require(try RESP3Parser().parse(&buffer))
        guard case .map(let map) = value else { Issue.record("not a map: \(value)"); return }
        #expect(map.count == count)
        var first = Hasher()
        first.combine(RESP3Value.bulkString(ByteBuffer(string: "00000001")))
        var second = Hasher()
        second.combine(RESP3Value.bulkString(ByteBuffer(string: "00000002")))
        #expect(first.finalize() != second.finalize())
    }

    @Test("random corruption of a valid stream never crashes the parser")
    func corruptedStreams() {
        let stream = Array(Self.samples.map(\.bytes).joined().utf8)
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            var bytes = stream
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            var buffer = ByteBuffer(bytes: bytes)
            var parsed = 0
            while parsed < 100 {
                guard let value = try? RESP3Parser().parse(&buffer) else { break }
                _ = value
                parsed += 1
            }
            #expect(parsed < 100)
        }
    }

    @Test("commands are encoded as arrays of bulk strings")
    func encodesCommands() {
        var buffer = ByteBuffer()
        RESP3Command.encode(["SET", "k", .bytes(ByteBuffer(string: "a\r\nb"))], into: &buffer)
        #expect(String(buffer: buffer) == "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\na\r\nb\r\n")
    }

    @Test("script digests match Redis's SHA-1 names")
    func scriptDigest() {
        #expect(RedisScript("return 1").sha1 == "e0e1f9fabfc9d4800c877a703b823ac0578ff8db")
        #expect(SHA1.hex(Array("abc".utf8)) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(SHA1.hex([]) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
    }

    @Test("redis URLs parse, and refuse a password in the URL")
    func urls() {
        #expect(RedisEndpoint(url: "redis://cache:6380/2") == RedisEndpoint(host: "cache", port: 6380, database: 2))
        #expect(RedisEndpoint(url: "redis://gw@127.0.0.1") == RedisEndpoint(host: "127.0.0.1", username: "gw"))
        #expect(RedisEndpoint(url: "redis://[::1]:7000") == RedisEndpoint(host: "::1", port: 7000))
        #expect(RedisEndpoint(url: "redis://u:secret@host") == nil)
        #expect(RedisEndpoint(url: "http://host") == nil)
        #expect(RedisEndpoint(url: "redis://host:99999") == nil)
        #expect(RedisEndpoint(url: "redis://host/99") == nil)
    }
}
