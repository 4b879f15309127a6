import HTTPTypes
import NIOCore

/// An RFC 9457 problem document.
struct Problem: Sendable, Equatable {
    static let mediaType = "application/problem+json"
    /// Problem types live under this URI; each has a short slug.
    static let typeBase = "https://mode-gateway.dev/problems/"

    var status: HTTPResponse.Status
    var slug: String
    var title: String
    var detail: String
    var extra: [String: String] = [:]

    /// The JSON body, with the request id the client can quote to the operator.
    func body(requestID: String) -> ByteBuffer {
        var json = "{\"type\":\(JSONText.quoted(Self.typeBase + self.slug))"
        json += ",\"title\":\(JSONText.quoted(self.title))"
        json += ",\"status\":\(self.status.code)"
        json += ",\"detail\":\(JSONText.quoted(self.detail))"
        for (key, value) in self.extra.sorted(by: { $0.key < $1.key }) {
            json += ",\(JSONText.quoted(key)):\(JSONText.quoted(value))"
        }
        json += ",\"request_id\":\(JSONText.quoted(requestID))}"
        return ByteBuffer(string: json)
    }

    /// `text` cut to a length fit for an error message, with control characters made visible.
    static func printable(_ text: String, limit: Int = 200) -> String {
        let cut = text.unicodeScalars.prefix(limit)
        var result = String(String.UnicodeScalarView(cut.map { $0.value < 0x20 || $0.value == 0x7F ? "\u{FFFD}" : $0 }))
        if text.unicodeScalars.count > limit { result += "…" }
        return result
    }
}
