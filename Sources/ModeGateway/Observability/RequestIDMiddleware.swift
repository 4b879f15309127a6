import HTTPTypes
import Hummingbird
import Synchronization

/// Gives every request an id: the client's `X-Request-ID` when it is well formed (1 to 128
/// characters from `[A-Za-z0-9._:-]`), otherwise a new random one. The id is echoed in the response.
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var context = context
        context.requestID = Self.resolve(request.headers[.requestID])
        var response = try await next(request, context)
        response.headers[.requestID] = context.requestID
        return response
    }

    /// The client's id when it is well formed, otherwise a new one.
    static func resolve(_ given: String?) -> String {
        if let given, Self.isWellFormed(given) { return given }
        return Self.generate()
    }

    static func isWellFormed(_ id: String) -> Bool {
        let utf8 = id.utf8
        return (1...128).contains(utf8.count)
            && utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: ":"),
                    UInt8(ascii: "-"):
                    true
                default: false
                }
            }
    }

    /// 32 hex digits: 64 random bits chosen once per process, then a 64-bit counter. Unique
    /// across restarts and replicas for all practical purposes, and cheap: no system call per
    /// request, unlike drawing fresh random bits each time.
    static func generate() -> String {
        let sequence = Self.counter.wrappingAdd(1, ordering: .relaxed).newValue
        return String(unsafeUninitializedCapacity: 32) { buffer in
            HexDigits.write(Self.processPrefix, into: buffer, at: 0)
            HexDigits.write(sequence, into: buffer, at: 16)
            return 32
        }
    }

    private static let processPrefix = UInt64.random(in: .min ... .max)
    private static let counter = Atomic<UInt64>(0)
}

extension HTTPField.Name {
    static let requestID = Self("X-Request-ID")!
}
