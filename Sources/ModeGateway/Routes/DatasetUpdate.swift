import Foundation

/// The flat body of `PATCH /datasets/{dataset}`: `name`, `description` and `space_token`, each
/// optional, at least one, all strings.
public struct DatasetUpdate: Sendable, Equatable {
    public static let fields = ["name", "description", "space_token"]
    /// The largest body accepted.
    public static let maxBodyBytes = 64 * 1024

    public var name: String?
    public var description: String?
    public var spaceToken: String?

    /// Validates a request body, naming the field at fault.
    public init(json body: [UInt8]) throws(GatewayError) {
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed])
        } catch {
            throw .invalidBody(field: nil, reason: "The body is not valid JSON.")
        }
        guard let object = parsed as? [String: Any] else {
            throw .invalidBody(field: nil, reason: "The body must be a JSON object.")
        }
        if let unknown = object.keys.sorted().first(where: { !Self.fields.contains($0) }) {
            let hint = unknown == "report" ? " Send the fields flat, not wrapped in 'report'." : ""
            throw .invalidBody(
                field: Problem.printable(unknown, limit: 64),
                reason: "is not a field of a dataset update; use name, description or space_token.\(hint)"
            )
        }
        guard !object.isEmpty else {
            throw .invalidBody(field: nil, reason: "The body must set at least one of name, description, space_token.")
        }
        func string(_ field: String) throws(GatewayError) -> String? {
            guard let value = object[field] else { return nil }
            // JSONSerialization gives NSString for strings; anything else (numbers, booleans, null) is refused.
            guard let text = value as? String, !(value is NSNumber) else {
                throw .invalidBody(field: field, reason: "must be a string.")
            }
            return text
        }
        self.name = try string("name")
        self.description = try string("description")
        self.spaceToken = try string("space_token")
        if let spaceToken, !Token.isValid(spaceToken) {
            throw .invalidBody(field: "space_token", reason: "must be a Mode token: 1 to 64 characters from A-Z, a-z, 0-9, '_' and '-'.")
        }
    }

    /// Mode's form: `{"report": {…}}` with exactly the fields given.
    public var upstreamBody: String {
        var members: [String] = []
        if let name { members.append("\"name\":" + JSONText.quoted(name)) }
        if let description { members.append("\"description\":" + JSONText.quoted(description)) }
        if let spaceToken { members.append("\"space_token\":" + JSONText.quoted(spaceToken)) }
        return "{\"report\":{" + members.joined(separator: ",") + "}}"
    }
}
