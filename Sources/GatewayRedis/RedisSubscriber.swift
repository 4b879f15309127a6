import Logging
import Synchronization

/// One connection that only listens: it subscribes to a fixed set of channels and hands every
/// message to `onMessage`.
///
/// It sends `PING` every `pingInterval` and reconnects when one goes unanswered: a half-dead
/// socket would otherwise wait for messages forever. Messages are at most once: any sent while
/// it was reconnecting are lost, so nothing may depend on them for correctness.
public final class RedisSubscriber: Sendable {
    private let settings: RedisClient.Settings
    private let channels: [String]
    private let pingInterval: Duration
    private let logger: Logger
    private let onMessage: @Sendable (_ channel: String, _ payload: String) -> Void
    private let subscribed = Atomic<Bool>(false)

    public init(
        settings: RedisClient.Settings,
        channels: [String],
        pingInterval: Duration = .seconds(1),
        logger: Logger,
        onMessage: @escaping @Sendable (String, String) -> Void
    ) {
        self.settings = settings
        self.channels = channels
        self.pingInterval = pingInterval
        self.logger = logger
        self.onMessage = onMessage
    }

    /// Whether the subscription is up now.
    public var isSubscribed: Bool { self.subscribed.load(ordering: .relaxed) }

    /// Keeps the subscription alive until the task is cancelled.
    public func run() async {
        var failures = 0
        var settings = self.settings
        settings.clientName += "-subscriber"
        while !Task.isCancelled {
            do {
                let onMessage = self.onMessage
                let connection = try await RedisConnection.connect(
                    to: settings.endpoint,
                    timeout: settings.connectTimeout,
                    clientName: settings.clientName,
                    maxBulkLength: 1 << 20
                ) { frame in
                    guard let kind = frame.first?.string else { return }
                    switch kind {
                    case "message":
                        guard frame.count == 3, let channel = frame[1].string, let payload = frame[2].string else { return }
                        onMessage(channel, payload)
                    case "subscribe":
                        self.subscribed.store(true, ordering: .relaxed)
                    default:
                        break
                    }
                }
                connection.sendExpectingPush(["SUBSCRIBE"] + self.channels.map { .string($0) })
                failures = 0
                await withTaskCancellationHandler {
                    while !Task.isCancelled, connection.isActive {
                        try? await Task.sleep(for: self.pingInterval)
                        do {
                            _ = try await connection.send(["PING"], timeout: settings.commandTimeout * 5)
                        } catch {
                            self.logger.warning("The Redis subscription stopped answering; reconnecting")
                            connection.close()
                        }
                    }
                } onCancel: {
                    connection.close()
                }
                self.subscribed.store(false, ordering: .relaxed)
            } catch {
                self.subscribed.store(false, ordering: .relaxed)
            }
            if Task.isCancelled { return }
            failures += 1
            try? await Task.sleep(for: RedisClient.backoff(failures: failures, settings: settings))
        }
    }
}
