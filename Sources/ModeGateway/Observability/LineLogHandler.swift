import Foundation
import Logging
import Synchronization

/// How log lines are written.
public enum LogFormat: String, Sendable {
    /// Readable lines: `ts level label: message key=value …`.
    case text
    /// One JSON object per line (`ts`, `level`, `label`, `message`, then the metadata), and
    /// nothing else on standard output.
    case json
}

/// The gateway's log handler: one line per entry, in either format, written whole to a
/// ``LineSink``. Unlike swift-log's `StreamLogHandler`, it renders metadata when a line is
/// written, not each time metadata is set (Hummingbird sets some on every request).
public struct LineLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let label: String
    let format: LogFormat
    let sink: LineSink

    public init(label: String, format: LogFormat, sink: LineSink = .standardOutput) {
        self.label = label
        self.format = format
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let level = event.level
        let message = event.message
        let merged = self.metadata.merging(event.metadata ?? [:]) { $1 }.sorted { $0.key < $1.key }
        var text: String
        switch self.format {
        case .json:
            text = "{\"ts\":\"" + Self.timestamp() + "\",\"level\":\"" + level.rawValue + "\",\"label\":" + JSONText.quoted(self.label)
            text += ",\"message\":" + JSONText.quoted(message.description)
            for (key, value) in merged where !["ts", "level", "label", "message"].contains(key) {
                text += "," + JSONText.quoted(key) + ":" + JSONText.quoted(value.description)
            }
            text += "}"
        case .text:
            text = Self.timestamp() + " " + level.rawValue + " " + self.label + ": " + message.description
            for (key, value) in merged { text += " \(key)=\(value)" }
        }
        self.sink.write(text + "\n")
    }

    static func timestamp() -> String {
        Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }
}

/// Where whole log lines go; one write per line, under a lock, so lines never interleave.
public final class LineSink: Sendable {
    private let write: @Sendable (String) -> Void
    private let lock = Mutex(())

    public init(write: @escaping @Sendable (String) -> Void) {
        self.write = write
    }

    public static let standardOutput = LineSink { line in
        FileHandle.standardOutput.write(Data(line.utf8))
    }

    func write(_ line: String) {
        self.lock.withLock { _ in self.write(line) }
    }
}
