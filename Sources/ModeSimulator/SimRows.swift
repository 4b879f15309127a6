/// The rows of a query run, made up from the report, the query and the row count, the same
/// every time, so that tests can hold the gateway's answers to what the simulator serves.
///
/// Rows are written in blocks, so a result of tens of megabytes is never held whole.
public struct SimRows: Sendable {
    public var reportToken: String
    public var queryIndex: Int
    public var count: Int

    public init(reportToken: String, queryIndex: Int, count: Int) {
        self.reportToken = reportToken
        self.queryIndex = queryIndex
        self.count = count
    }

    static let regions = ["emea", "amer", "apac", "latam"]
    static let csvHeader = "id,day,region,amount,note\r\n"
    /// Rows per block written.
    static let blockRows = 2_000

    /// One row's values: id, day, region, amount (cents as a decimal), and a note that needs
    /// quoting in CSV now and then.
    private func values(_ index: Int) -> (id: Int, day: String, region: String, amount: String, note: String) {
        let seed = index &* 2_654_435_761 &+ self.queryIndex &* 40_503 &+ self.reportToken.utf8.reduce(0) { $0 &* 31 &+ Int($1) }
        let cents = (seed & 0xFFFFF) % 1_000_000
        let day = 1 + index % 28
        let note: String
        switch index % 7 {
        case 0: note = "plain"
        case 1: note = "with, comma"
        case 2: note = "say \"hi\""
        case 3: note = "ünïcödé ✓"
        default: note = "row \(index + 1) of \(self.reportToken)"
        }
        return (
            index + 1, "2024-01-\(day < 10 ? "0" : "")\(day)", Self.regions[(seed >> 3) & 3],
            "\(cents / 100).\(cents % 100 < 10 ? "0" : "")\(cents % 100)", note
        )
    }

    /// The JSON content in blocks: `[`, rows separated by commas, `]`.
    public func jsonBlocks() -> some Sequence<String> {
        self.blocks(start: "[", end: "]") { index in
            let row = self.values(index)
            var text = index == 0 ? "" : ","
            text += "{\"id\":\(row.id),\"day\":\"\(row.day)\",\"region\":\"\(row.region)\",\"amount\":\(row.amount),\"note\":"
            JSONValue.writeString(row.note, into: &text)
            text += "}"
            return text
        }
    }

    /// The CSV content in blocks, as Mode writes it (before its byte-order mark and gzip).
    public func csvBlocks() -> some Sequence<String> {
        self.blocks(start: Self.csvHeader, end: "") { index in
            let row = self.values(index)
            let note = row.note.contains(",") || row.note.contains("\"") ? "\"" + row.note.replacingAll("\"", with: "\"\"") + "\"" : row.note
            return "\(row.id),\(row.day),\(row.region),\(row.amount),\(note)\r\n"
        }
    }

    /// The whole JSON content; for tests.
    public var json: String { self.jsonBlocks().joined() }
    /// The whole CSV content, without the byte-order mark; for tests.
    public var csv: String { self.csvBlocks().joined() }

    private func blocks(start: String, end: String, row: @escaping (Int) -> String) -> some Sequence<String> {
        let count = self.count
        return AnySequence { () -> AnyIterator<String> in
            var next = 0
            var started = false
            var ended = false
            return AnyIterator { () -> String? in
                if ended { return nil }
                var text = started ? "" : start
                started = true
                let stop = min(count, next + Self.blockRows)
                while next < stop {
                    text += row(next)
                    next += 1
                }
                if next == count {
                    text += end
                    ended = true
                }
                return text
            }
        }
    }
}

extension String {
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var result = ""
        for character in self { if character == target { result += replacement } else { result.append(character) } }
        return result
    }
}
