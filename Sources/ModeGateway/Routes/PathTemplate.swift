/// A path with `{parameter}` segments, split once into literal and parameter parts so that
/// filling it in per request is a few appends.
struct PathTemplate: Sendable {
    private enum Part: Sendable {
        case literal(String)
        case parameter(String)
    }

    private let parts: [Part]
    private let literalLength: Int

    /// - Parameter workspace: when given, `{workspace}` is filled in now, once.
    init(_ template: String, workspace: String? = nil) {
        var parts: [Part] = []
        var literal = ""
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            literal += rest[..<open]
            let name = String(rest[rest.index(after: open)..<close])
            if name == "workspace", let workspace {
                literal += workspace
            } else {
                if !literal.isEmpty { parts.append(.literal(literal)) }
                literal = ""
                parts.append(.parameter(name))
            }
            rest = rest[rest.index(after: close)...]
        }
        literal += rest
        if !literal.isEmpty { parts.append(.literal(literal)) }
        self.parts = parts
        self.literalLength = parts.reduce(0) { length, part in
            if case .literal(let text) = part { return length + text.utf8.count }
            return length
        }
    }

    /// The path with every parameter replaced by its token; a missing one stays as `{name}`.
    func render(_ parameters: [String: Token]) -> String {
        self.render { parameters[$0]?.value[...] }
    }

    /// The path with every parameter replaced by `value(name)`; a missing one stays as `{name}`.
    func render(_ value: (String) -> Substring?) -> String {
        var result = ""
        result.reserveCapacity(self.literalLength + 16 * self.parts.count)
        for part in self.parts {
            switch part {
            case .literal(let text): result += text
            case .parameter(let name):
                if let given = value(name) { result += given } else { result += "{\(name)}" }
            }
        }
        return result
    }
}
