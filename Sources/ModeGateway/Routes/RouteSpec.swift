import HTTPTypes

/// One flat route: everything the pipeline needs to serve it, as data.
///
/// A new Mode endpoint is one ``RouteSpec`` in ``RouteTable``, a test and a line in the spec.
public struct RouteSpec: Sendable {
    /// What the upstream answer is, and so how it is transformed.
    public enum Shape: Sendable, Equatable {
        /// A single resource: HAL members stripped, `_embedded` lifted.
        case object
        /// A paged collection whose items are under `_embedded.<itemsKey>`: completed and flattened.
        case collection(itemsKey: String)
    }

    /// What the route reads from the request body.
    public enum Body: Sendable, Equatable {
        case none
        /// `{"name", "description", "space_token"}`, sent to Mode as `{"report": {…}}`.
        case datasetUpdate
    }

    /// A stable name for logs, metrics and the OpenAPI `operationId`.
    public var operationID: String
    public var method: HTTPRequest.Method
    /// The flat path, with `{parameter}` segments.
    public var path: String
    /// The Mode path below the API base, with `{workspace}` and the same parameters.
    public var upstreamPath: String
    public var shape: Shape
    public var body: Body
    /// Names a cached answer of this route carries, with `{parameter}`s filled in: the tags a
    /// write invalidates. Only GET routes are cached.
    public var cacheTags: [String] = []
    /// For a write: the tags whose cached answers its success makes wrong.
    public var invalidates: [String] = []

    /// The names of the path parameters, in order.
    public var parameters: [String] {
        self.path.split(separator: "/").compactMap { segment in
            segment.first == "{" && segment.last == "}" ? String(segment.dropFirst().dropLast()) : nil
        }
    }

    /// Whether the route takes the list query parameters.
    public var isCollection: Bool {
        if case .collection = self.shape { return true }
        return false
    }

    /// Tag templates with these parameter values filled in.
    func fill(_ templates: [String], with parameters: [String: Token]) -> [String] {
        templates.map { Self.fill($0, workspace: nil, parameters: parameters) }
    }

    /// The Mode path for these parameter values; every value must already be a valid ``Token``.
    func upstreamPath(workspace: String, parameters: [String: Token]) -> String {
        Self.fill(self.upstreamPath, workspace: workspace, parameters: parameters)
    }

    /// Replaces each `{name}` in `template` with its value, in one pass.
    static func fill(_ template: String, workspace: String?, parameters: [String: Token]) -> String {
        var result = ""
        result.reserveCapacity(template.utf8.count + 64)
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            result += rest[..<open]
            let name = rest[rest.index(after: open)..<close]
            if name == "workspace", let workspace {
                result += workspace
            } else if let token = parameters[String(name)] {
                result += token.value
            } else {
                result += rest[open...close]
            }
            rest = rest[rest.index(after: close)...]
        }
        return result + rest
    }
}
