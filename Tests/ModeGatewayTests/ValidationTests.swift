import Configuration
import GatewayRedis
import Testing

@testable import ModeGateway

@Suite("Validation of what clients send")
struct ValidationTests {
    @Test("Tokens are 1 to 64 characters from A-Za-z0-9_-")
    func tokens() {
        for valid in ["a", "ds0001", "A-b_9", String(repeating: "z", count: 64)] { #expect(Token.isValid(valid), "\(valid)") }
        for invalid in ["", "a.b", "a/b", "a%2Fb", "a b", "a\u{0}b", "é", String(repeating: "z", count: 65), "a\nb"] {
            #expect(!Token.isValid(invalid), "\(invalid)")
        }
    }

    @Test("ISO 8601 datetimes are checked for shape and ranges")
    func timestamps() {
        for valid in ["2024-01-01T00:00:00Z", "2024-02-29T23:59:59.123Z", "2024-05-01T10:00:00+02:00", "1999-12-31T00:00:00-11:30"] {
            #expect(ISO8601Timestamp(valid) != nil, "\(valid)")
        }
        for invalid in [
            "2024-01-01", "2024-01-01T00:00:00", "2023-02-29T00:00:00Z", "2024-13-01T00:00:00Z", "2024-01-32T00:00:00Z",
            "2024-01-01T24:00:00Z", "2024-01-01T00:60:00Z", "2024-01-01T00:00:00.Z", "2024-01-01T00:00:00Zjunk",
            "2024-01-01 00:00:00Z", "2024-01-01T00:00:00+2:00",
        ] {
            #expect(ISO8601Timestamp(invalid) == nil, "\(invalid)")
        }
    }

    @Test("A list query reads every parameter and encodes it for Mode in a fixed order")
    func listQuery() throws {
        let query = try ListQuery(query: QueryString("page=3&order_by=updated_at&filter=updated_at.lt.2024-05-01T10:00:00+02:00&order=desc"))
        #expect(query.page == 3)
        #expect(query.order == .descending)
        #expect(query.orderBy == .updatedAt)
        #expect(query.filter?.instant.text == "2024-05-01T10:00:00+02:00")
        #expect(query.upstreamQuery(page: 1) == "filter=updated_at.lt.2024-05-01T10%3A00%3A00%2B02%3A00&order=desc&order_by=updated_at&page=1")
        let sameInOtherOrder = try ListQuery(
            query: QueryString("order=desc&filter=updated_at.lt.2024-05-01T10%3A00%3A00%2B02%3A00&order_by=updated_at&page=3")
        )
        #expect(sameInOtherOrder.canonical == query.canonical)
    }

    @Test("Query strings refuse repeats and broken escapes")
    func queryStrings() {
        #expect(throws: GatewayError.invalidQuery(parameter: "a", reason: "is given more than once.")) { try QueryString("a=1&a=2") }
        #expect(throws: GatewayError.self) { try QueryString("a=%4") }
        #expect(throws: GatewayError.self) { try QueryString("a=%FF") }
        #expect(throws: GatewayError.self) { try QueryString("%00=1") }
        #expect((try? QueryString("a=1&&b=%41"))?.pairs.map(\.value) == ["1", "A"])
    }

    @Test("A flat body becomes Mode's wrapped body with exactly the given fields, in the table's order")
    func wrappedBody() throws {
        guard case .fields(let key?, let fields) = RouteTable.reportFields else {
            Issue.record("report updates take a wrapped body")
            return
        }
        let body = try RequestBody.fields(wrap: key, fields: fields, json: Array(#"{"description":"Line\n\"two\"","name":"N"}"#.utf8))
        #expect(body == #"{"report":{"name":"N","description":"Line\n\"two\""}}"#)
        #expect(throws: GatewayError.invalidBody(field: "name", reason: "must be a string.")) {
            try RequestBody.fields(wrap: key, fields: fields, json: Array(#"{"name":1}"#.utf8))
        }
        #expect(throws: GatewayError.self) { try RequestBody.fields(wrap: key, fields: fields, json: Array(#"{"space_token":"a/b"}"#.utf8)) }
        #expect(throws: GatewayError.self) { try RequestBody.fields(wrap: key, fields: fields, json: Array(#"{"report":{"name":"x"}}"#.utf8)) }
        #expect(throws: GatewayError.self) { try RequestBody.fields(wrap: key, fields: fields, json: Array("{}".utf8)) }
    }

    @Test("A run body is empty or {\"parameters\": {…}}, sent with sorted members; anything else is refused")
    func runBody() throws {
        #expect(try RequestBody.runParameters(json: []) == #"{"parameters":{}}"#)
        #expect(try RequestBody.runParameters(json: Array(" \n".utf8)) == #"{"parameters":{}}"#)
        #expect(try RequestBody.runParameters(json: Array(#"{"parameters":{"rows":3,"a":"x"}}"#.utf8)) == #"{"parameters":{"a":"x","rows":3}}"#)
        for bad in [#"{"parameters":[1]}"#, #"{"rows":3}"#, #"[1]"#, #"{"parameters":null}"#, "not json"] {
            #expect(throws: GatewayError.self, "\(bad)") { try RequestBody.runParameters(json: Array(bad.utf8)) }
        }
    }

    @Test("Missing or invalid configuration names the variable")
    func configurationErrors() {
        func load(_ values: [AbsoluteConfigKey: ConfigValue]) throws(ConfigurationError) -> GatewayConfiguration {
            try GatewayConfiguration(reader: ConfigReader(provider: InMemoryProvider(values: values)))
        }
        let base: [AbsoluteConfigKey: ConfigValue] = ["mode.workspace": "acme", "mode.api.token": "t", "mode.api.secret": "s"]
        #expect((try? load(base))?.modeURL == "https://app.mode.com/api")
        var missing = base
        missing["mode.api.secret"] = nil
        #expect(throws: ConfigurationError.self) { try load(missing) }
        do {
            _ = try load(missing)
        } catch {
            #expect(error.variable == "MODE_API_SECRET")
            #expect(error.description.hasPrefix("configuration error: MODE_API_SECRET"))
        }
        for (key, value) in [
            ("http.port", "99999"), ("mode.api.url", "ftp://x"), ("mode.api.url", "https://user:secret@mode.com/api"),
            ("mode.api.url", "https://mode.com/api?x=1"), ("mode.timeout.seconds", "-1"), ("mode.workspace", "a/b"),
        ] {
            var bad = base
            bad[AbsoluteConfigKey(key.split(separator: ".").map(String.init))] = .init(.string(value), isSecret: false)
            #expect(throws: ConfigurationError.self, "\(key)") { try load(bad) }
        }
    }

    @Test("GATEWAY_FAST_HITS: on by default, off when told, and nothing but a boolean")
    func fastHitsSetting() throws {
        func load(_ extra: [String: String]) throws(ConfigurationError) -> GatewayConfiguration {
            var values: [AbsoluteConfigKey: ConfigValue] = ["mode.workspace": "acme", "mode.api.token": "t", "mode.api.secret": "s"]
            for (key, value) in extra {
                values[AbsoluteConfigKey(key.split(separator: ".").map(String.init))] = .init(.string(value), isSecret: false)
            }
            return try GatewayConfiguration(reader: ConfigReader(provider: InMemoryProvider(values: values)))
        }
        #expect(try load([:]).fastHits)
        #expect(try !load(["gateway.fast.hits": "false"]).fastHits)
        #expect(try load(["gateway.fast.hits": "true"]).fastHits)
        #expect(throws: ConfigurationError.self) { try load(["gateway.fast.hits": "sometimes"]) }
    }

    @Test("Redis settings: the URL, the password (never printed), the prefix, the timeout and the replicas")
    func redisSettings() throws {
        func load(_ extra: [String: String]) throws(ConfigurationError) -> GatewayConfiguration {
            var values: [AbsoluteConfigKey: ConfigValue] = ["mode.workspace": "acme", "mode.api.token": "t", "mode.api.secret": "s"]
            for (key, value) in extra {
                values[AbsoluteConfigKey(key.split(separator: ".").map(String.init))] = .init(.string(value), isSecret: false)
            }
            return try GatewayConfiguration(reader: ConfigReader(provider: InMemoryProvider(values: values)))
        }
        #expect(try load([:]).fleet == nil)
        let fleet = try #require(
            try load([
                "redis.url": "redis://gw@cache:6380/1", "redis.password": "p4ss-word", "redis.key.prefix": "prod",
                "redis.timeout.milliseconds": "150", "gateway.replicas": "3",
            ]).fleet
        )
        #expect(fleet.endpoint == RedisEndpoint(host: "cache", port: 6380, username: "gw", password: "p4ss-word", database: 1))
        #expect(fleet.keyPrefix == "prod" && fleet.commandTimeout == .milliseconds(150) && fleet.replicas == 3)
        #expect(!fleet.endpoint.description.contains("p4ss-word"))
        // Interpolated, dumped, or inside the settings that hold it: never the password.
        var dumped = ""
        dump(fleet, to: &dumped)
        for text in ["\(fleet.endpoint)", String(reflecting: fleet.endpoint), "\(fleet)", dumped] {
            #expect(!text.contains("p4ss-word"), "\(text)")
        }
        for bad in [
            ["redis.url": "redis://u:p4ss-word@cache"], ["redis.url": "http://cache"], ["redis.url": "redis://c", "redis.key.prefix": "{x}"],
            ["redis.url": "redis://c", "redis.timeout.milliseconds": "0"], ["redis.url": "redis://c", "gateway.replicas": "0"],
        ] {
            #expect(throws: ConfigurationError.self, "\(bad)") { try load(bad) }
            do {
                _ = try load(bad)
            } catch {
                #expect(!error.description.contains("p4ss-word"))
            }
        }
    }

    @Test("Credentials never print")
    func credentialsRedacted() {
        let credentials = ModeCredentials(token: "tok-123", secret: "sec-456")
        for text in ["\(credentials)", String(reflecting: credentials)] {
            #expect(!text.contains("tok-123") && !text.contains("sec-456"))
        }
    }
}

@Suite("SHA-256")
struct SHA256Tests {
    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    @Test("Matches the FIPS 180-4 test vectors, at every block boundary")
    func vectors() {
        let cases: [(String, String)] = [
            ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
            (
                "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
                "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"
            ),
        ]
        for (input, digest) in cases { #expect(Self.hex(SHA256.hash(Array(input.utf8))) == digest, "\(input)") }
        #expect(
            Self.hex(SHA256.hash([UInt8](repeating: 0x61, count: 1_000_000))) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        )
        // Fed in pieces of every size, the digest is the same.
        let message = Array((0..<300).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let whole = SHA256.hash(message)
        for piece in [1, 3, 55, 56, 63, 64, 65, 128] {
            var hasher = SHA256()
            var start = 0
            while start < message.count {
                hasher.update(message[start..<min(start + piece, message.count)])
                start += piece
            }
            #expect(hasher.finalize() == whole, "pieces of \(piece)")
        }
    }
}
