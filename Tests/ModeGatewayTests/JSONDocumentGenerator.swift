/// A deterministic random generator (SplitMix64), so a failing case can be replayed by seed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { self.state = seed }
    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Writes random HAL-flavoured JSON text: HAL members at every depth (some with escaped keys),
/// strings with escapes and non-ASCII text, numbers in every JSON form, deep nesting and
/// random whitespace. Keys inside an `_embedded` get a unique prefix, so lifting never collides.
struct JSONDocumentGenerator {
    var random: SeededGenerator
    private var uniqueKey = 0

    init(seed: UInt64) { self.random = SeededGenerator(seed: seed) }

    static let numbers = [
        "0", "-0", "1", "-1", "42", "3.14159", "-2.5e10", "1E-7", "6.02e+23", "9007199254740993",
        "0.1", "1e0", "-0.0", "123456789", "2.2250738585072014e-308",
    ]
    static let strings = [
        "", "plain", "with \\\"quotes\\\"", "back\\\\slash", "tab\\tnew\\nline", "\\u00e9t\\u00e9",
        "ünïcödé ✓ 漢字 🚀", "\\ud83d\\ude80 rocket", "_links", "{\\\"_links\\\":1}", "slash\\/ed",
        "\\b\\f\\r", "\\u0000nul",
    ]

    mutating func document() -> String {
        self.object(depth: 0, embedded: false)
    }

    private mutating func whitespace() -> String {
        ["", "", "", " ", "\n  ", "\t", "\r\n"][Int.random(in: 0..<7, using: &self.random)]
    }

    private mutating func key(embedded: Bool) -> String {
        self.uniqueKey += 1
        return embedded ? "e\(self.uniqueKey)_k" : "k\(Int.random(in: 0..<1000, using: &self.random))_\(self.uniqueKey)"
    }

    mutating func value(depth: Int) -> String {
        let choice = depth > 6 ? Int.random(in: 0..<4, using: &self.random) : Int.random(in: 0..<7, using: &self.random)
        switch choice {
        case 0: return Self.numbers.randomElement(using: &self.random)!
        case 1: return "\"" + Self.strings.randomElement(using: &self.random)! + "\""
        case 2: return ["true", "false", "null"].randomElement(using: &self.random)!
        case 3: return "\"" + Self.strings.randomElement(using: &self.random)! + "\""
        case 4, 5: return self.object(depth: depth + 1, embedded: false)
        default:
            let count = Int.random(in: 0..<4, using: &self.random)
            let elements = (0..<count).map { _ in self.whitespace() + self.value(depth: depth + 1) + self.whitespace() }
            return "[" + elements.joined(separator: ",") + "]"
        }
    }

    mutating func object(depth: Int, embedded: Bool) -> String {
        var members: [String] = []
        for _ in 0..<Int.random(in: 0..<5, using: &self.random) {
            members.append("\"\(self.key(embedded: embedded))\":" + self.whitespace() + self.value(depth: depth + 1))
        }
        if depth < 8 {
            if Bool.random(using: &self.random) {
                let name = ["_links", "\\u005flinks", "_forms", "_f\\u006frms"].randomElement(using: &self.random)!
                members.insert("\"\(name)\":" + self.value(depth: depth + 1), at: Int.random(in: 0...members.count, using: &self.random))
            }
            if Int.random(in: 0..<3, using: &self.random) == 0 {
                let name = ["_embedded", "_embedde\\u0064"].randomElement(using: &self.random)!
                let inner = Int.random(in: 0..<5, using: &self.random) == 0 ? "[1]" : self.object(depth: depth + 1, embedded: true)
                members.insert("\"\(name)\":" + inner, at: Int.random(in: 0...members.count, using: &self.random))
            }
        }
        let separator = "," + self.whitespace()
        return "{" + self.whitespace() + members.joined(separator: separator) + self.whitespace() + "}"
    }
}
