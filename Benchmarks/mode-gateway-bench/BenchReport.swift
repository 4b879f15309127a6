import Foundation

/// Rows of measured figures against their targets, printed as a Markdown table.
struct BenchReport {
    struct Row {
        var name: String
        var value: String
        var target: String
        var met: Bool?
    }

    var rows: [Row] = []
    var notes: [String] = []

    mutating func add(_ name: String, _ value: String, target: String = "", met: Bool? = nil) {
        self.rows.append(Row(name: name, value: value, target: target, met: met))
    }

    func render() -> String {
        var text = "| measure | value | target | met |\n|---|---|---|---|\n"
        for row in self.rows {
            let met = row.met.map { $0 ? "yes" : "NO" } ?? ""
            text += "| \(row.name) | \(row.value) | \(row.target) | \(met) |\n"
        }
        for note in self.notes { text += "\n" + note }
        return text
    }
}

/// Runs `body` `repetitions` times and returns the best wall-clock time, in seconds.
func bestTime(repetitions: Int, _ body: () throws -> Void) rethrows -> Double {
    var best = Double.infinity
    for _ in 0..<repetitions {
        let start = ContinuousClock.now
        try body()
        let elapsed = ContinuousClock.now - start
        best = min(best, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }
    return best
}

func format(_ value: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", value) }

/// The process's resident memory now, in bytes (from /proc/self/statm): what the memory really
/// costs, allocator overhead and fragmentation included.
func residentNow() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// The process's peak resident set, in bytes: `VmHWM` from /proc/self/status, which (unlike
/// `ru_maxrss`) starts afresh in a new program instead of inheriting its parent's peak.
func peakResident() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
        let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
        let kilobytes = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
    else { return 0 }
    return kilobytes * 1024
}
