import Foundation
import Trove
import TroveS3Client

extension S3Store {
    /// Runs `body`, turning an ``S3Error`` into the ``StoreError`` that says the same (its code,
    /// the server's message and request id, this store and `key`).
    func mapErrors<T>(_ operation: StoreOperation, key: StoreKey?, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as S3Error {
            throw storeError(error, operation, key: key)
        }
    }

    /// The ``StoreError`` for `error`.
    func storeError(_ error: S3Error, _ operation: StoreOperation, key: StoreKey?) -> StoreError {
        let code: StoreError.Code
        switch error.kind {
        case .notFound: code = .unavailable
        case .preconditionFailed: code = .conditionFailed
        case .invalidCredentials, .accessDenied: code = .permissionDenied
        case .clockSkew, .throttled, .serverError, .connection: code = .unavailable
        case .timedOut: code = .timedOut
        case .invalidRequest: code = error.code == "EntityTooLarge" ? .valueTooLarge : (error.code == "KeyTooLongError" ? .invalidKey : .invalidArgument)
        case .invalidResponse: code = .io
        }
        var message = error.description
        if (error.code == "NoSuchBucket" || (error.kind == .notFound && error.key == nil)) && !error.message.contains("'\(bucket)'") {
            message = "the bucket '\(bucket)' does not exist: \(error.description)"
        }
        if error.kind == .invalidCredentials {
            message = "the server refused the credentials of access key \(client.configuration.credentials.accessKeyID): \(error.description)"
        }
        return StoreError(code, operation: operation, key: key, store: description, message: message,
                          underlying: error, isRetryable: error.isRetryable, retryAfter: error.retryAfter)
    }

    func expiryNotSupported(_ key: StoreKey) -> StoreError {
        StoreError(.notSupported, operation: .write, key: key, store: description,
                   message: "S3 has no per-object expiry that reads and listings honour; wrap the store in an ExpiringStore")
    }
}
