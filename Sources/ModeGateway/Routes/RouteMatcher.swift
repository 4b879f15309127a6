/// Finds a route for a raw request path, for the event loop's fast path and for purging by path:
/// without decoding, without allocating more than the segments, and only when the answer is certain.
///
/// It knows every template the router serves, so it can tell when a path could be read two
/// ways (a literal segment and a parameter both fit): then, and for any path it cannot split
/// cleanly (an empty segment, a trailing slash, no leading slash), it finds nothing, and the
/// router decides.
struct RouteMatcher<Target: Sendable>: Sendable {
    /// A path's route, with its parameters' raw segments.
    struct Match {
        let target: Target
        /// Each parameter's name in the template (`dataset` for `{dataset}`), and its raw segment.
        let parameters: [(name: String, value: Substring)]

        /// The raw segment of the parameter `name`.
        func value(of name: String) -> Substring? {
            self.parameters.first { $0.name == name }?.value
        }
    }

    /// What a template ending at a node serves, and the names of its parameters in order (nil
    /// for a segment that is not a whole `{name}`: such a template is never served).
    private struct End: Sendable {
        var target: Target?
        var names: [String?]
    }

    private struct Node: Sendable {
        var literals: [String: Int] = [:]
        var parameter: Int?
        /// What a template ending here serves: nil for a route the fast path leaves to the router.
        var ends: [End] = []
        /// A `**` below here: any deeper path is the router's.
        var catchAll = false
    }

    private var nodes = [Node()]

    /// - Parameter templates: every template the router serves, each with what the fast path
    ///   serves for it, or nil for one it leaves to the router.
    init(_ templates: [(template: String, target: Target?)]) {
        for (template, target) in templates {
            var node = 0
            var caughtAll = false
            var names: [String?] = []
            for segment in Self.segments(Substring(template)) ?? [] {
                if segment == "**" {
                    self.nodes[node].catchAll = true
                    caughtAll = true
                    break
                }
                if Self.isParameter(segment) {
                    names.append(segment.hasPrefix("{") && segment.hasSuffix("}") ? String(segment.dropFirst().dropLast()) : nil)
                    if self.nodes[node].parameter == nil {
                        self.nodes.append(Node())
                        self.nodes[node].parameter = self.nodes.count - 1
                    }
                    node = self.nodes[node].parameter!
                } else {
                    let literal = String(segment)
                    if self.nodes[node].literals[literal] == nil {
                        self.nodes.append(Node())
                        self.nodes[node].literals[literal] = self.nodes.count - 1
                    }
                    node = self.nodes[node].literals[literal]!
                }
            }
            if !caughtAll { self.nodes[node].ends.append(End(target: target, names: names)) }
        }
    }

    /// The one route that serves `path`, or nil when none does, when more than one could, or
    /// when the one that does is left to the router.
    func match(_ path: Substring) -> Match? {
        guard let segments = Self.segments(path) else { return nil }
        var found: (End, [Substring])?
        var count = 0
        var values: [Substring] = []
        self.walk(0, segments, 0, &values, &found, &count)
        guard count == 1, let (end, values) = found, let target = end.target else { return nil }
        var parameters: [(name: String, value: Substring)] = []
        parameters.reserveCapacity(values.count)
        for (name, value) in zip(end.names, values) {
            guard let name else { return nil }
            parameters.append((name, value))
        }
        return Match(target: target, parameters: parameters)
    }

    private func walk(
        _ node: Int,
        _ segments: [Substring],
        _ index: Int,
        _ values: inout [Substring],
        _ found: inout (End, [Substring])?,
        _ count: inout Int
    ) {
        guard count < 2 else { return }
        if self.nodes[node].catchAll, index < segments.count {
            count += 1
            found = (End(target: nil, names: []), values)
        }
        guard index < segments.count else {
            for end in self.nodes[node].ends {
                count += 1
                found = (end, values)
            }
            return
        }
        let segment = segments[index]
        if let next = self.nodes[node].literals[String(segment)] {
            self.walk(next, segments, index + 1, &values, &found, &count)
        }
        if let next = self.nodes[node].parameter {
            values.append(segment)
            self.walk(next, segments, index + 1, &values, &found, &count)
            values.removeLast()
        }
    }

    /// The segments of a path that starts with `/` and has no empty segment; nil otherwise.
    private static func segments(_ path: Substring) -> [Substring]? {
        let utf8 = path.utf8
        guard utf8.first == UInt8(ascii: "/") else { return nil }
        var result: [Substring] = []
        result.reserveCapacity(6)
        var start = utf8.index(after: utf8.startIndex)
        if start == utf8.endIndex { return [] }
        while true {
            let end = utf8[start...].firstIndex(of: UInt8(ascii: "/")) ?? utf8.endIndex
            guard end > start else { return nil }
            result.append(path[start..<end])
            if end == utf8.endIndex { return result }
            start = utf8.index(after: end)
            if start == utf8.endIndex { return nil }
        }
    }

    /// `{name}`, and the router's other captures and wildcards (`prefix{name}`, `{name}suffix`,
    /// `:name`, `*`): taken as filled by any segment, so that a path such a template might take
    /// is never read as another route's.
    private static func isParameter(_ segment: Substring) -> Bool {
        segment.contains("{") || segment.hasPrefix(":") || segment.contains("*")
    }
}
