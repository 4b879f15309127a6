#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The wall clock in UTC, read and broken down without Foundation: the one place the gateway
/// turns it into text, for log time stamps and `Date` headers, where Foundation's formatters cost
/// more than answering a cache hit.
struct UTCTime {
    let year: Int
    /// 1 to 12.
    let month: Int
    let day: Int
    /// 0 for Sunday to 6 for Saturday.
    let weekday: Int
    let hour: Int
    let minute: Int
    let second: Int

    init(epochSeconds: Int) {
        var time = time_t(epochSeconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        self.year = Int(parts.tm_year) + 1900
        self.month = Int(parts.tm_mon) + 1
        self.day = Int(parts.tm_mday)
        self.weekday = Int(parts.tm_wday)
        self.hour = Int(parts.tm_hour)
        self.minute = Int(parts.tm_min)
        self.second = Int(parts.tm_sec)
    }

    /// Seconds and nanoseconds since 1970, from the wall clock.
    static func now() -> (seconds: Int, nanoseconds: Int) {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return (Int(spec.tv_sec), Int(spec.tv_nsec))
    }

    /// `value` in decimal, with leading zeros up to `width` digits.
    static func digits(_ value: Int, width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.utf8.count)) + text
    }
}
