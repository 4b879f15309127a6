/// What a client key may do. Each scope includes the ones before it.
public enum Scope: String, Sendable, Comparable, CaseIterable {
    /// GET the flat routes and `/metrics`.
    case read
    /// Also PATCH datasets.
    case write
    /// Also purge the cache.
    case admin

    private var rank: Int {
        switch self {
        case .read: 0
        case .write: 1
        case .admin: 2
        }
    }

    public static func < (lhs: Scope, rhs: Scope) -> Bool { lhs.rank < rhs.rank }
}
