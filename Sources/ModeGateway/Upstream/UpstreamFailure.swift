import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NIOHTTPCompression
import NIOPosix
import NIOSSL

#if canImport(Glibc)
    import Glibc
#endif

/// Why a call to Mode got no HTTP answer.
enum UpstreamFailure: Error, Equatable {
    /// No connection was made: the request provably never reached Mode.
    case connectFailed
    /// The connection closed before a whole answer came.
    case connectionDropped
    /// The deadline passed.
    case timedOut
    /// The answer was larger than the gateway accepts.
    case responseTooLarge
    /// Anything else the transport reported.
    case other

    /// The `status` label of the upstream metrics for this failure.
    var metricLabel: String {
        switch self {
        case .connectFailed: "connect_failed"
        case .connectionDropped: "dropped"
        case .timedOut: "timeout"
        case .responseTooLarge: "too_large"
        case .other: "error"
        }
    }

    var gatewayError: GatewayError {
        switch self {
        case .connectFailed: .upstreamUnreachable
        case .connectionDropped: .badGateway(detail: "Mode closed the connection before answering.")
        case .timedOut: .gatewayTimeout(detail: "Mode did not answer in time.")
        case .responseTooLarge: .badGateway(detail: "Mode's answer was larger than the gateway accepts.")
        case .other: .badGateway(detail: "The request to Mode failed.")
        }
    }

    /// What a transport error means for the retry and breaker logic, from either transport
    /// (``UpstreamConnections`` or AsyncHTTPClient).
    init(_ error: any Error) {
        if let error = error as? UpstreamFailure {
            self = error
        } else if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout, .socksHandshakeTimeout, .tlsHandshakeTimeout: self = .connectFailed
            case .deadlineExceeded, .readTimeout, .writeTimeout: self = .timedOut
            case .remoteConnectionClosed, .cancelled: self = .connectionDropped
            default: self = .other
            }
        } else if error is NIOTooManyBytesError || (error as? NIOHTTPDecompression.DecompressionError) == .limit {
            self = .responseTooLarge
        } else if (error as? HTTPParserError) == .invalidEOFState {
            // The connection closed part way through the answer.
            self = .connectionDropped
        } else if let error = error as? NIOSSLError, case .uncleanShutdown = error {
            self = .connectionDropped
        } else if error is CancellationError {
            self = .timedOut
        } else if error is NIOConnectionError {
            self = .connectFailed
        } else if let error = error as? IOError {
            // AHC reports the last connect attempt's error when it could not connect in time.
            switch error.errnoCode {
            case ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, EADDRNOTAVAIL: self = .connectFailed
            case ECONNRESET, EPIPE: self = .connectionDropped
            default: self = .other
            }
        } else if error is ChannelError {
            self = .connectionDropped
        } else {
            self = .other
        }
    }
}
