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

    /// `Retry-After` in whole seconds, given as seconds or as an HTTP date (RFC 9110 §10.2.3).
    static func retryAfterSeconds(_ headers: HTTPFields, now: Date = Date()) -> Int? {
        guard let value = headers[.retryAfter]?.trimmingCharacters(in: .whitespaces) else { return nil }
        if let seconds = Int(value) { return seconds >= 0 ? seconds : nil }
        guard let date = Self.httpDate(value) else { return nil }
        return max(0, Int(date.timeIntervalSince(now).rounded(.up)))
    }

    /// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the form HTTP dates are sent in.
    static func httpDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.date(from: text)
    }
}
