/// The validated query of a cached read: a list's own parameters (`filter`, `order`,
/// `order_by`, `page`), the route's pass-through fields, and the query the route always sends.
struct ReadQuery: Sendable {
    var list: ListQuery?
    /// The route's query fields as `name=value`, encoded, in the table's order.
    var passed: [String] = []
    var fixed: String?

    /// No query at all: an object read.
    init() {}

    /// Reads and checks a raw query against the route; anything it does not take is refused.
    init(route: RouteSpec, raw: String?) throws(GatewayError) {
        let pairs = try QueryString(raw).pairs
        // Most reads have no query: nothing to sort out then (this runs on every cache hit).
        let rest =
            pairs.isEmpty || route.query.isEmpty
            ? QueryString(pairs: pairs) : QueryString(pairs: pairs.filter { pair in !route.query.contains { $0.name == pair.name } })
        if route.isCollection {
            self.list = try ListQuery(query: rest, filters: route.listFilters)
        } else if let first = rest.pairs.first {
            throw .invalidQuery(parameter: Problem.printable(first.name, limit: 64), reason: "is not a parameter of this route.")
        }
        for field in route.query {
            guard let value = pairs.first(where: { $0.name == field.name })?.value else {
                if field.required { throw .invalidQuery(parameter: field.name, reason: "is required.") }
                continue
            }
            switch field.kind {
            case .timestamp:
                guard ISO8601Timestamp(value) != nil else {
                    throw .invalidQuery(parameter: field.name, reason: "must be an ISO 8601 date and time, such as 2024-01-01T00:00:00Z.")
                }
            case .date:
                guard ISO8601Timestamp(value + "T00:00:00Z") != nil, value.utf8.count == 10 else {
                    throw .invalidQuery(parameter: field.name, reason: "must be a date, such as 2024-01-31.")
                }
            case .boolean:
                guard value == "true" || value == "false" else { throw .invalidQuery(parameter: field.name, reason: "must be true or false.") }
            case .token:
                guard Token.isValid(value) else {
                    throw .invalidQuery(parameter: field.name, reason: "must be a Mode token: 1 to 64 characters from A-Z, a-z, 0-9, '_' and '-'.")
                }
            case .string:
                guard (1...256).contains(value.unicodeScalars.count), value.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) else {
                    throw .invalidQuery(parameter: field.name, reason: "must be 1 to 256 printable characters.")
                }
            }
            self.passed.append(field.name + "=" + QueryString.percentEncode(value))
        }
        self.fixed = route.fixedQuery
    }

    /// The query sent to Mode for one page of a list (or for an object), fully encoded.
    func upstream(page: Int?) -> String? {
        let parts = [self.fixed, self.list?.upstreamQuery(page: page)].compactMap { $0 } + self.passed
        return parts.isEmpty ? nil : parts.joined(separator: "&")
    }

    /// The same for every spelling of the same request; part of the cache key.
    var canonical: String {
        var canonical = self.list?.canonical ?? ""
        for field in self.passed {
            if !canonical.isEmpty { canonical += "&" }
            canonical += field
        }
        return canonical
    }
}
