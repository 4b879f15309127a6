#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The `Date` header's value (RFC 9110's IMF-fixdate, such as `Tue, 01 Dec 2026 12:00:00 GMT`),
/// formatted once a second: each connection of the fast path keeps one, so no lock is shared.
/// Hummingbird formats the router's the same way, once a second.
struct HTTPDate {
    private var second = -1
    private var text = ""

    /// The current date, formatted.
    mutating func now() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        let second = Int(spec.tv_sec)
        if second != self.second {
            self.second = second
            self.text = Self.format(epochSeconds: second)
        }
        return self.text
    }

    private static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func format(epochSeconds: Int) -> String {
        var time = time_t(epochSeconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return Self.days[Int(parts.tm_wday)] + ", " + two(parts.tm_mday) + " " + Self.months[Int(parts.tm_mon)] + " "
            + String(parts.tm_year + 1900) + " " + two(parts.tm_hour) + ":" + two(parts.tm_min) + ":" + two(parts.tm_sec) + " GMT"
    }
}
