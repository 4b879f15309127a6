import Hummingbird
import NIOCore

/// `DELETE /cache` (everything) and `DELETE /cache?path=/datasets/abc` (the entries answering
/// one flat path). Both answer `{"removed": N}`, the entries this replica dropped; with Redis,
/// the purge moves an epoch that every replica reads, so it acts on the whole fleet.
struct CacheRoutes: Sendable {
    let cache: ResponseCache
    let workspace: String

    static let path = "/cache"

    func purge(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        context.trace.update { $0.route = Self.path }
        let query = try QueryString(request.uri.query)
        var removed: Int
        var purgedPath: String?
        if let unknown = query.pairs.first(where: { $0.name != "path" }) {
            throw GatewayError.invalidQuery(parameter: Problem.printable(unknown.name, limit: 64), reason: "is not a parameter of this route.")
        }
        if let path = query.pairs.first?.value {
            guard let (route, parameters) = RouteTable.match(path: path) else {
                throw GatewayError.invalidQuery(parameter: "path", reason: "must be the path of a cached route, such as /datasets/abc.")
            }
            removed = await self.cache.purgeEverywhere(path: PathTemplate(route.upstreamPath, workspace: self.workspace).render(parameters))
            purgedPath = path
        } else {
            removed = await self.cache.purgeEverywhere()
        }
        var json = "{\"removed\":\(removed)"
        if let purgedPath { json += ",\"path\":" + JSONText.quoted(purgedPath) }
        json += "}"
        return Response(
            status: .ok,
            headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: json))
        )
    }
}
