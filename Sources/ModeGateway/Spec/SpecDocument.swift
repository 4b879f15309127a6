import Foundation
import NIOCore
import Yams

/// The gateway's OpenAPI document, shipped in the binary's resources and served three ways:
/// the YAML as written, the same document as JSON, and an HTML page for people.
public struct SpecDocument: Sendable {
    public let yaml: ByteBuffer
    public let json: ByteBuffer
    public let html: ByteBuffer
    /// Every (method, path) the document describes, as `GET /datasets/{dataset}`.
    public let operations: Set<String>

    /// Why the document could not be loaded; a packaging error, reported at start.
    public struct LoadError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Loads the document from the module's resources.
    public static func load() throws -> SpecDocument {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml") else {
            throw LoadError(description: "openapi.yaml is missing from the gateway's resources")
        }
        return try SpecDocument(yaml: String(contentsOf: url, encoding: .utf8))
    }

    public init(yaml text: String) throws {
        guard let document = try Yams.load(yaml: text) as? [String: Any] else {
            throw LoadError(description: "openapi.yaml is not a YAML mapping")
        }
        let json = try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])
        self.yaml = ByteBuffer(string: text)
        self.json = ByteBuffer(bytes: json)
        self.html = ByteBuffer(string: SpecPage(document: document).render())
        var operations: Set<String> = []
        for (path, item) in document["paths"] as? [String: Any] ?? [:] {
            for method in (item as? [String: Any] ?? [:]).keys where SpecPage.methods.contains(method) {
                operations.insert("\(method.uppercased()) \(path)")
            }
        }
        self.operations = operations
    }
}
