import Foundation

/// The operator's Mode API token and secret. Never printed: its descriptions are redacted, and
/// only the prepared `Authorization` value leaves this type, towards Mode.
public struct ModeCredentials: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public let token: String
    public let secret: String

    public init(token: String, secret: String) {
        self.token = token
        self.secret = secret
    }

    /// `Basic base64(token:secret)`, as Mode expects.
    var authorization: String {
        "Basic " + Data("\(self.token):\(self.secret)".utf8).base64EncodedString()
    }

    public var description: String { "ModeCredentials(token: <redacted>, secret: <redacted>)" }
    public var debugDescription: String { self.description }
}
