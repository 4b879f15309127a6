import Foundation
import NIOCore

/// What the gateway reads of a transformed run document: its token and state.
struct RunDocument: Sendable, Equatable {
    /// The states in which a run has stopped changing.
    static let finishedStates: Set<String> = ["succeeded", "completed", "failed", "cancelled"]
    /// The states whose rows can be read.
    static let successfulStates: Set<String> = ["succeeded", "completed"]

    var token: String
    var state: String

    var isFinished: Bool { Self.finishedStates.contains(self.state) }
    var isSuccessful: Bool { Self.successfulStates.contains(self.state) }

    /// Reads `token` and `state` from a plain JSON run; nil when either is missing.
    init?(_ body: ByteBuffer) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
            let token = object["token"] as? String, let state = object["state"] as? String
        else { return nil }
        self.token = token
        self.state = state
    }
}
