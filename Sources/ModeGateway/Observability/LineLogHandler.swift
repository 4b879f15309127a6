import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

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
        let own = event.metadata ?? [:]
        // Most lines have metadata of their own only: no merge then.
        let merged = (self.metadata.isEmpty ? own : self.metadata.merging(own) { $1 }).sorted { $0.key < $1.key }
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

    /// The time in UTC to the millisecond, such as `2026-12-01T12:05:03.641Z`. The date and time
    /// are formatted once a second; a line adds only its milliseconds (formatting the whole
    /// timestamp with Foundation cost more than answering a cache hit).
    static func timestamp() -> String {
        let (second, nanoseconds) = UTCTime.now()
        let prefix = Self.secondPrefix.withLock { cached in
            if cached.second != second {
                cached = (second, Self.formatSecond(second))
            }
            return cached.text
        }
        return prefix + UTCTime.digits(nanoseconds / 1_000_000, width: 3) + "Z"
    }

    private static let secondPrefix = Mutex<(second: Int, text: String)>((-1, ""))

    /// `2026-12-01T12:05:03.`: the date and time of a second since the epoch, in UTC.
    static func formatSecond(_ second: Int) -> String {
        let time = UTCTime(epochSeconds: second)
        return UTCTime.digits(time.year, width: 4) + "-" + UTCTime.digits(time.month, width: 2) + "-" + UTCTime.digits(time.day, width: 2)
            + "T" + UTCTime.digits(time.hour, width: 2) + ":" + UTCTime.digits(time.minute, width: 2) + ":"
            + UTCTime.digits(time.second, width: 2) + "."
    }
}

/// Where whole log lines go; one write per line, under a lock, so lines never interleave.
public final class LineSink: Sendable {
    private let write: @Sendable (String) -> Void
    private let lock = Mutex(())

    public init(write: @escaping @Sendable (String) -> Void) {
        self.write = write
    }

    /// Standard output, written with `write(2)` directly: no `Data` and no `FileHandle` per line.
    public static let standardOutput = LineSink { line in
        var line = line
        line.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = systemWrite(STDOUT_FILENO, bytes.baseAddress! + offset, bytes.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0, errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
    }

    func write(_ line: String) {
        self.lock.withLock { _ in self.write(line) }
    }
}

/// `write(2)`, named apart from ``LineSink``'s own `write`.
private func systemWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, bytes, count)
}
