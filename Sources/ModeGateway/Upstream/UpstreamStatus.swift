import Foundation
import HTTPTypes
import NIOCore

/// How a Mode answer that is not a success becomes a ``GatewayError``.
enum UpstreamStatus {
    /// The error for a non-2xx answer; nil for a success.
    static func error(for response: UpstreamResponse) -> GatewayError? {
        let code = response.status.code
        switch code {
        case 200..<300:
            return nil
        case 404:
            return .notFound(detail: Self.modeMessage(response.body) ?? "Mode has no such resource.")
        case 400, 422:
            return .upstreamRejected(message: Self.modeMessage(response.body) ?? "Mode refused the request.")
        case 403:
            return .forbidden(detail: Self.modeMessage(response.body) ?? "Mode forbids this resource to the gateway.")
        case 401:
            return .upstreamUnauthorized
        case 429:
            return .unavailable(
                detail: "Mode is rate limiting the gateway; try again later.",
                retryAfterSeconds: Self.retryAfterSeconds(response.headers) ?? 1
            )
        case 500..<600:
            return .badGateway(detail: "Mode answered \(code).")
        default:
            return .badGateway(detail: "Mode answered an unexpected \(code).")
        }
    }

    /// Mode's error bodies are `{"id": "...", "message": "..."}`; the message, if there is one.
    static func modeMessage(_ body: ByteBuffer) -> String? {
        guard body.readableBytes > 0, body.readableBytes <= 64 * 1024,
            let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
            let message = object["message"] as? String, !message.isEmpty
        else { return nil }
        return Problem.printable(message, limit: 500)
    }

    /// `Retry-After` in whole seconds, when given as seconds.
    static func retryAfterSeconds(_ headers: HTTPFields) -> Int? {
        guard let value = headers[.retryAfter], let seconds = Int(value.trimmingCharacters(in: .whitespaces)),
            seconds >= 0
        else { return nil }
        return seconds
    }
}
