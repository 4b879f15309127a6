import Foundation

/// The representations of rows: JSON (Mode's array of row objects), CSV (Mode's own) and NDJSON
/// (a row object per line, made from Mode's JSON).
enum ResultFormat: String, Sendable, CaseIterable {
    case json
    case csv
    case ndjson

    var contentType: String {
        switch self {
        case .json: "application/json"
        case .csv: "text/csv; charset=utf-8"
        case .ndjson: "application/x-ndjson"
        }
    }

    /// Which of Mode's contents the rows are read from.
    var modeContent: String { self == .csv ? "content.csv" : "content.json" }

    /// The format asked for: `?format=` when given, else the best match of `Accept`, else JSON.
    /// - Parameter offered: what the route serves, the default first.
    static func negotiate(format: String?, accept: String?, offered: [ResultFormat]) throws(GatewayError) -> ResultFormat {
        let list = offered.map(\.rawValue).joined(separator: ", ")
        if let format {
            guard let chosen = ResultFormat(rawValue: format) else {
                throw .invalidQuery(parameter: "format", reason: "must be one of json, csv, ndjson.")
            }
            guard offered.contains(chosen) else { throw .notAcceptable(detail: "This route serves \(list) only.") }
            return chosen
        }
        guard let accept, !accept.trimmingCharacters(in: .whitespaces).isEmpty else { return offered[0] }
        var best: (format: ResultFormat, quality: Double)?
        for range in accept.split(separator: ",") {
            let parts = range.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            var quality = 1.0
            for parameter in parts.dropFirst() where parameter.hasPrefix("q=") {
                quality = Double(parameter.dropFirst(2)) ?? 0
            }
            guard quality > 0, let format = Self.match(parts.first ?? "", offered: offered) else { continue }
            if quality > (best?.quality ?? 0) { best = (format, quality) }
        }
        guard let best else {
            throw .notAcceptable(detail: "Accept names no format this route serves; it serves \(list) (or use ?format=).")
        }
        return best.format
    }

    private static func match(_ mediaRange: String, offered: [ResultFormat]) -> ResultFormat? {
        let candidates: [ResultFormat]
        switch mediaRange {
        case "*/*", "application/*": candidates = offered
        case "application/json": candidates = [.json]
        case "text/csv", "text/*": candidates = [.csv]
        case "application/x-ndjson", "application/ndjson", "application/jsonl": candidates = [.ndjson]
        default: candidates = []
        }
        return candidates.first { offered.contains($0) }
    }
}
