import Foundation
import NIOCore
import Yams

/// The gateway's OpenAPI document, built at start from the companion file in the binary's
/// resources and the route table (``SpecBuilder``), and served three ways: YAML, the same
/// document as JSON, and an HTML page for people.
public struct SpecDocument: Sendable {
    public let yaml: ByteBuffer
    public let json: ByteBuffer
    public let html: ByteBuffer
    /// Every (method, path) the document describes, as `GET /datasets/{dataset}`.
    public let operations: Set<String>

    /// Why the document could not be built; a packaging error, reported at start.
    public struct LoadError: Error, CustomStringConvertible {
        public var description: String
    }

    /// The document from the module's companion file and the route table; built once per
    /// process, since both are fixed when the binary is.
    public static func load() throws -> SpecDocument {
        try Self.built.get()
    }

    private static let built: Result<SpecDocument, any Error> = Result { try Self.build() }

    private static func build() throws -> SpecDocument {
        guard let url = Bundle.module.url(forResource: "openapi-base", withExtension: "yaml") else {
            throw LoadError(description: "openapi-base.yaml is missing from the gateway's resources")
        }
        guard let base = try Yams.load(yaml: String(contentsOf: url, encoding: .utf8)) as? [String: Any] else {
            throw LoadError(description: "openapi-base.yaml is not a YAML mapping")
        }
        return try SpecDocument(document: SpecBuilder.document(base: base))
    }

    public init(document: [String: Any]) throws {
        let json = try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])
        self.yaml = ByteBuffer(string: try Yams.dump(object: document, width: -1, allowUnicode: true, sortKeys: true))
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
