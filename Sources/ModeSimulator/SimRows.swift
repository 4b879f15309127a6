/// The rows of a query run, made up from the report, the query and the row count, the same
/// every time, so that tests can hold the gateway's answers to what the simulator serves.
///
/// Rows are written as bytes in blocks, so a result of tens of megabytes is never held whole
/// and costs little to make.
public struct SimRows: Sendable {
    public var reportToken: String
    public var queryIndex: Int
    public var count: Int

    public init(reportToken: String, queryIndex: Int, count: Int) {
        self.reportToken = reportToken
        self.queryIndex = queryIndex
        self.count = count
    }

    static let regions: [[UInt8]] = ["emea", "amer", "apac", "latam"].map { Array($0.utf8) }
    static let csvHeader = Array("id,day,region,amount,note\r\n".utf8)
    /// Rows per block written.
    static let blockRows = 2_000

    /// The notes a row may carry, as JSON and as CSV; the last kind is made per row.
    private static let jsonNotes: [[UInt8]] = [#""plain""#, #""with, comma""#, #""say \"hi\"""#, #""ünïcödé ✓""#].map { Array($0.utf8) }
    private static let csvNotes: [[UInt8]] = ["plain", #""with, comma""#, #""say ""hi""""#, "ünïcödé ✓"].map { Array($0.utf8) }

    /// The JSON content in blocks: `[`, rows separated by commas, `]`.
    public func jsonBlocks() -> some Sequence<[UInt8]> {
        self.blocks(start: [UInt8(ascii: "[")], end: [UInt8(ascii: "]")]) { index, out in
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out += #"{"id":"#.utf8
            Self.digits(index + 1, into: &out)
            out += #","day":"2024-01-"#.utf8
            self.day(index, into: &out)
            out += #"","region":""#.utf8
            out += Self.regions[(self.seed(index) >> 3) & 3]
            out += #"","amount":"#.utf8
            self.amount(index, into: &out)
            out += #","note":"#.utf8
            let kind = index % 7
            if kind < 4 {
                out += Self.jsonNotes[kind]
            } else {
                out += #""row "#.utf8
                Self.digits(index + 1, into: &out)
                out += " of ".utf8
                out += self.reportToken.utf8
                out.append(UInt8(ascii: "\""))
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// The CSV content in blocks, as Mode writes it (before its byte-order mark and gzip).
    public func csvBlocks() -> some Sequence<[UInt8]> {
        self.blocks(start: Self.csvHeader, end: []) { index, out in
            Self.digits(index + 1, into: &out)
            out += ",2024-01-".utf8
            self.day(index, into: &out)
            out.append(UInt8(ascii: ","))
            out += Self.regions[(self.seed(index) >> 3) & 3]
            out.append(UInt8(ascii: ","))
            self.amount(index, into: &out)
            out.append(UInt8(ascii: ","))
            let kind = index % 7
            if kind < 4 {
                out += Self.csvNotes[kind]
            } else {
                out += "row ".utf8
                Self.digits(index + 1, into: &out)
                out += " of ".utf8
                out += self.reportToken.utf8
            }
            out += "\r\n".utf8
        }
    }

    /// The whole JSON content; for tests.
    public var json: String { String(decoding: Array(self.jsonBlocks().joined()), as: UTF8.self) }
    /// The whole CSV content, without the byte-order mark; for tests.
    public var csv: String { String(decoding: Array(self.csvBlocks().joined()), as: UTF8.self) }

    private func seed(_ index: Int) -> Int {
        index &* 2_654_435_761 &+ self.queryIndex &* 40_503 &+ self.reportToken.utf8.reduce(0) { $0 &* 31 &+ Int($1) }
    }

    private func day(_ index: Int, into out: inout [UInt8]) {
        let day = 1 + index % 28
        out.append(UInt8(ascii: "0") + UInt8(day / 10))
        out.append(UInt8(ascii: "0") + UInt8(day % 10))
    }

    /// Cents as a decimal with two places.
    private func amount(_ index: Int, into out: inout [UInt8]) {
        let cents = (self.seed(index) & 0xFFFFF) % 1_000_000
        Self.digits(cents / 100, into: &out)
        out.append(UInt8(ascii: "."))
        out.append(UInt8(ascii: "0") + UInt8(cents % 100 / 10))
        out.append(UInt8(ascii: "0") + UInt8(cents % 10))
    }

    private static func digits(_ value: Int, into out: inout [UInt8]) {
        if value >= 10 { Self.digits(value / 10, into: &out) }
        out.append(UInt8(ascii: "0") + UInt8(value % 10))
    }

    private func blocks(start: [UInt8], end: [UInt8], row: @escaping (Int, inout [UInt8]) -> Void) -> some Sequence<[UInt8]> {
        let count = self.count
        return AnySequence { () -> AnyIterator<[UInt8]> in
            var next = 0
            var started = false
            var ended = false
            return AnyIterator { () -> [UInt8]? in
                if ended { return nil }
                var block: [UInt8] = started ? [] : start
                block.reserveCapacity(Self.blockRows * 96)
                started = true
                let stop = min(count, next + Self.blockRows)
                while next < stop {
                    row(next, &block)
                    next += 1
                }
                if next == count {
                    block += end
                    ended = true
                }
                return block
            }
        }
    }
}
