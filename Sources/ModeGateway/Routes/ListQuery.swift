import Foundation

/// The validated query of a list route: Mode's `filter`, `order` and `order_by`, and `page`.
public struct ListQuery: Sendable, Hashable {
    public enum Field: String, Sendable, CaseIterable { case createdAt = "created_at", updatedAt = "updated_at" }
    public enum Comparison: String, Sendable, CaseIterable { case greaterThan = "gt", lessThan = "lt" }
    public enum Order: String, Sendable, CaseIterable { case ascending = "asc", descending = "desc" }

    /// `created_at.gt.2024-01-01T00:00:00Z`: items whose field is after (or before) the instant.
    public struct Filter: Sendable, Hashable {
        public var field: Field
        public var comparison: Comparison
        public var instant: ISO8601Timestamp

        var rawValue: String { "\(self.field.rawValue).\(self.comparison.rawValue).\(self.instant.text)" }
    }

    public var filter: Filter?
    public var order: Order?
    public var orderBy: Field?
    /// One page only, when the client asks for it; otherwise the gateway reads every page.
    public var page: Int?

    public static let maxPage = 100_000

    public init(filter: Filter? = nil, order: Order? = nil, orderBy: Field? = nil, page: Int? = nil) {
        self.filter = filter
        self.order = order
        self.orderBy = orderBy
        self.page = page
    }

    /// Reads and validates a raw query string; any other parameter is refused.
    /// - Parameter filters: whether the list takes `filter`, `order` and `order_by` (`page` it always takes).
    init(query: QueryString, filters: Bool = true) throws(GatewayError) {
        for (name, value) in query.pairs {
            if !filters, name != "page" {
                throw .invalidQuery(parameter: Problem.printable(name, limit: 64), reason: "is not a parameter of this route.")
            }
            switch name {
            case "filter":
                self.filter = try Self.parseFilter(value)
            case "order":
                guard let order = Order(rawValue: value) else {
                    throw .invalidQuery(parameter: name, reason: "must be 'asc' or 'desc'.")
                }
                self.order = order
            case "order_by":
                guard let field = Field(rawValue: value) else {
                    throw .invalidQuery(parameter: name, reason: "must be 'created_at' or 'updated_at'.")
                }
                self.orderBy = field
            case "page":
                guard value.utf8.count <= 6, value.utf8.allSatisfy({ $0 &- UInt8(ascii: "0") < 10 }),
                    let page = Int(value), (1...Self.maxPage).contains(page)
                else {
                    throw .invalidQuery(parameter: name, reason: "must be a whole number from 1 to \(Self.maxPage).")
                }
                self.page = page
            default:
                throw .invalidQuery(parameter: Problem.printable(name, limit: 64), reason: "is not a parameter of this route.")
            }
        }
    }

    private static func parseFilter(_ value: String) throws(GatewayError) -> Filter {
        let reason = "must be 'created_at' or 'updated_at', then 'gt' or 'lt', then an ISO 8601 datetime, joined by dots."
        let parts = value.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let field = Field(rawValue: String(parts[0])),
            let comparison = Comparison(rawValue: String(parts[1])),
            let instant = ISO8601Timestamp(String(parts[2]))
        else { throw .invalidQuery(parameter: "filter", reason: reason) }
        return Filter(field: field, comparison: comparison, instant: instant)
    }

    /// Reads a whole raw query string as a list's query: the entry point the fuzzer drives.
    package static func parse(_ raw: String) throws(GatewayError) -> ListQuery {
        try ListQuery(query: QueryString(raw))
    }

    /// The query sent to Mode for one page, in a fixed order and fully encoded.
    package func upstreamQuery(page: Int?) -> String? {
        var items: [String] = []
        if let filter { items.append("filter=" + QueryString.percentEncode(filter.rawValue)) }
        if let order { items.append("order=" + order.rawValue) }
        if let orderBy { items.append("order_by=" + orderBy.rawValue) }
        if let page { items.append("page=\(page)") }
        return items.isEmpty ? nil : items.joined(separator: "&")
    }

    /// A canonical form, for the cache key: the same for every spelling of the same request.
    /// Instants are written in UTC to the nanosecond (`…T00:00:00Z`, `….000Z` and `…+00:00` are
    /// one instant), and Mode's defaults (`order=asc`, `order_by=created_at`) are left out. What
    /// is sent to Mode stays as the client wrote it.
    public var canonical: String {
        // A list read with none of these is the commonest: no array, no join.
        if self.filter == nil, self.order ?? .ascending == .ascending, self.orderBy ?? .createdAt == .createdAt, self.page == nil { return "" }
        var items: [String] = []
        if let filter { items.append("filter=\(filter.field.rawValue).\(filter.comparison.rawValue).\(filter.instant.canonical)") }
        if let order, order != .ascending { items.append("order=" + order.rawValue) }
        if let orderBy, orderBy != .createdAt { items.append("order_by=" + orderBy.rawValue) }
        if let page { items.append("page=\(page)") }
        return items.joined(separator: "&")
    }
}

/// An ISO 8601 date and time, such as `2024-05-01T10:00:00Z` or `2024-05-01T10:00:00.5+02:00`.
/// Kept as the client wrote it (Mode reads the same syntax); checked for shape and ranges.
public struct ISO8601Timestamp: Sendable, Hashable {
    /// As the client wrote it; sent to Mode as is.
    public let text: String

    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes.count <= 35 else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                let digit = bytes[index] &- UInt8(ascii: "0")
                guard digit < 10 else { return nil }
                value = value * 10 + Int(digit)
            }
            return value
        }
        guard let year = number(0..<4), bytes[4] == UInt8(ascii: "-"), let month = number(5..<7),
            bytes[7] == UInt8(ascii: "-"), let day = number(8..<10), bytes[10] == UInt8(ascii: "T"),
            let hour = number(11..<13), bytes[13] == UInt8(ascii: ":"), let minute = number(14..<16),
            bytes[16] == UInt8(ascii: ":"), let second = number(17..<19),
            year >= 1, (1...12).contains(month), hour < 24, minute < 60, second < 60
        else { return nil }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let monthDays = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard (1...monthDays[month - 1]).contains(day) else { return nil }
        var index = 19
        if bytes[index] == UInt8(ascii: ".") {
            index += 1
            let start = index
            while index < bytes.count, bytes[index] &- UInt8(ascii: "0") < 10 { index += 1 }
            guard index > start, index - start <= 9 else { return nil }
        }
        guard index < bytes.count else { return nil }
        if bytes[index] == UInt8(ascii: "Z") {
            guard index + 1 == bytes.count else { return nil }
        } else {
            guard bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-"), index + 6 == bytes.count,
                let offsetHour = number(index + 1..<index + 3), bytes[index + 3] == UInt8(ascii: ":"),
                let offsetMinute = number(index + 4..<index + 6), offsetHour < 24, offsetMinute < 60
            else { return nil }
        }
        self.text = text
        var fraction = ""
        if bytes[19] == UInt8(ascii: ".") {
            fraction = String(decoding: bytes[20..<index], as: UTF8.self)
        }
        var offsetSeconds = 0
        if bytes[index] != UInt8(ascii: "Z"), let offsetHour = number(index + 1..<index + 3), let offsetMinute = number(index + 4..<index + 6) {
            offsetSeconds = (offsetHour * 3600 + offsetMinute * 60) * (bytes[index] == UInt8(ascii: "-") ? -1 : 1)
        }
        // Seconds since 1970 in UTC (Howard Hinnant's days-from-civil), then the fraction to 9 digits.
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        self.canonical = "\(seconds).\(fraction.padding(toLength: 9, withPad: "0", startingAt: 0))"
    }

    /// The instant as seconds since 1970 (UTC) and nine digits of fraction: one spelling per instant.
    public let canonical: String
}
