/// The `Date` header's value (RFC 9110's IMF-fixdate, such as `Tue, 01 Dec 2026 12:00:00 GMT`),
/// formatted once a second: each connection of the fast path keeps one, so no lock is shared.
/// Hummingbird formats the router's the same way, once a second.
struct HTTPDate {
    private var second = -1
    private var text = ""

    /// The current date, formatted.
    mutating func now() -> String {
        let second = UTCTime.now().seconds
        if second != self.second {
            self.second = second
            self.text = Self.format(epochSeconds: second)
        }
        return self.text
    }

    private static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func format(epochSeconds: Int) -> String {
        let time = UTCTime(epochSeconds: epochSeconds)
        return Self.days[time.weekday] + ", " + UTCTime.digits(time.day, width: 2) + " " + Self.months[time.month - 1] + " "
            + UTCTime.digits(time.year, width: 4) + " " + UTCTime.digits(time.hour, width: 2) + ":" + UTCTime.digits(time.minute, width: 2)
            + ":" + UTCTime.digits(time.second, width: 2) + " GMT"
    }
}
