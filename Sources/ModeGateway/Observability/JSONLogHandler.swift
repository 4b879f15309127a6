import Foundation
import Logging
import Synchronization

/// How log lines are written.
public enum LogFormat: String, Sendable {
    /// swift-log's readable text lines.
    case text
    /// One JSON object per line on standard output, and nothing else there.
    case json
}

/// A log handler that writes one JSON object per line: `ts`, `level`, `label`, `message`, then
/// the metadata as string members.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let label: String
    let sink: LineSink

    public init(label: String, sink: LineSink = .standardOutput) {
        self.label = label
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    public func log(
        level: Logger.Level,
        message: Logger.Message,
        metadata: Logger.Metadata?,
        source: String,
        file: String,
        function: String,
        line: UInt
    ) {
        var text = "{\"ts\":\"" + Self.timestamp() + "\",\"level\":\"" + level.rawValue + "\",\"label\":" + Problem.quoted(self.label)
        text += ",\"message\":" + Problem.quoted(message.description)
        let merged = self.metadata.merging(metadata ?? [:]) { $1 }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) where !["ts", "level", "label", "message"].contains(key) {
            text += "," + Problem.quoted(key) + ":" + Problem.quoted(value.description)
        }
        self.sink.write(text + "}\n")
    }

    static func timestamp() -> String {
        Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }
}

/// A readable one-line-per-entry handler: `ts level label: message key=value …`. Unlike
/// swift-log's `StreamLogHandler`, it formats metadata when a line is written, not each time
/// metadata is set (Hummingbird sets some on every request).
public struct TextLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let label: String
    let sink: LineSink

    public init(label: String, sink: LineSink = .standardOutput) {
        self.label = label
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    public func log(
        level: Logger.Level,
        message: Logger.Message,
        metadata: Logger.Metadata?,
        source: String,
        file: String,
        function: String,
        line: UInt
    ) {
        var text = JSONLogHandler.timestamp() + " " + level.rawValue + " " + self.label + ": " + message.description
        let merged = self.metadata.merging(metadata ?? [:]) { $1 }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            text += " \(key)=\(value)"
        }
        self.sink.write(text + "\n")
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
