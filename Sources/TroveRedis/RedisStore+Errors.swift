import Trove
import TroveRedisClient

extension RedisStore {
    /// Runs `body`, turning what the client throws into a ``StoreError`` of this store;
    /// `CancellationError` and ``StoreError`` pass through.
    func mapping<T>(_ operation: StoreOperation, _ key: StoreKey?, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as RedisClientError {
            throw storeError(error, operation, key)
        }
    }

    /// The ``StoreError`` for a client error: lost connections and timeouts are retryable
    /// (`unavailable`, `timedOut`), as is a cluster redirecting too often; garbage from the server is `io`, refused credentials and
    /// `NOPERM` are `permissionDenied`, `OOM` is `outOfSpace`, `READONLY` (a replica) is
    /// `readOnly`; a failed TLS handshake is `unavailable` and not retryable (`permissionDenied`
    /// when the server refused the client's certificate), TLS settings that cannot be loaded
    /// are `invalidArgument`; the server's message is kept.
    func storeError(_ error: RedisClientError, _ operation: StoreOperation, _ key: StoreKey?) -> StoreError {
        let code: StoreError.Code
        switch error.code {
        case .connectFailed, .connectionClosed, .shutDown, .tooManyRedirects: code = .unavailable
        case .timedOut: code = .timedOut
        case .protocolViolation: code = .io
        case .authenticationFailed: code = .permissionDenied
        case .invalidTLSConfiguration: code = .invalidArgument
        case .tlsHandshakeFailed: code = error.tlsFailure == .clientCertificateRejected ? .permissionDenied : .unavailable
        default:
            switch error.serverError?.prefix ?? "" {
            case "OOM": code = .outOfSpace
            case "NOAUTH", "WRONGPASS", "NOPERM": code = .permissionDenied
            case "READONLY": code = .readOnly
            case "LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN", "CLUSTERDOWN": code = .unavailable
            default: code = .io
            }
        }
        let what = error.code == .protocolViolation ? "the server broke the protocol: " : ""
        return StoreError(code, operation: operation, key: key, store: description, message: what + error.message,
                          underlying: error, isRetryable: error.isRetryable)
    }

    /// The error for a reply of an unexpected shape.
    func unexpected(_ reply: RESPValue, _ operation: StoreOperation, _ key: StoreKey?) -> StoreError {
        StoreError(.io, operation: operation, key: key, store: description,
                   message: "unexpected reply from the server: \(String(reply.description.prefix(200)))")
    }
}
