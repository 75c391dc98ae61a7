import Foundation
import PostgresNIO
import Trove
import TroveNIOSupport

/// How postgres-nio's and the server's failures become ``StoreError``s. Messages come from the
/// server's own text (which never holds a password) and the store's description (which holds
/// none either); the query and its parameters are never part of them.
extension PostgresStore {
    /// `error` as a ``StoreError`` of this store.
    func storeError(_ error: any Error, _ operation: StoreOperation, _ key: StoreKey?) -> StoreError {
        Self.storeError(error, operation, key, store: description)
    }

    /// `error` as a ``StoreError`` of `store`.
    static func storeError(_ error: any Error, _ operation: StoreOperation, _ key: StoreKey?, store: String) -> StoreError {
        if let error = error as? StoreError { return error.relabeled(store: store, key: key) }
        func make(_ code: StoreError.Code, _ message: String, retryable: Bool = false) -> StoreError {
            StoreError(code, operation: operation, key: key, store: store, message: message, underlying: error,
                       isRetryable: retryable)
        }
        if error is PostgresDecodingError {
            return make(.integrity, "a row of the table holds a value of an unexpected type: \(String(reflecting: error))")
        }
        if error is ClosedAfterAnswer {
            return make(.unavailable, "the server answered, then closed the connection before confirming the commit "
                        + "(it went away); the change may or may not have taken effect", retryable: true)
        }
        if let error = error as? CommitFailed {
            return serverError(state: error.failure.state, text: error.failure.message, committing: true, make)
        }
        if error is ClosedBeforeSending {
            return make(.unavailable, "the connection had closed (the server went away) before the statement was sent, "
                        + "so it did not run", retryable: true)
        }
        guard let failure = error as? PSQLError else {
            return make(.unavailable, "the server could not be reached: \(error)", retryable: true)
        }
        if let tls = failure.underlying as? NIOSSLError {
            return make(.unavailable, "TLS with the server failed (\(tls)): with sslmode=verify-full the server's certificate "
                        + "must chain to the system's roots (or sslrootcert's) and name the host")
        }
        switch failure.code {
        case .server:
            return serverError(state: failure.serverInfo?[.sqlState] ?? "", text: failure.serverInfo?[.message] ?? "no message",
                               committing: false, make)
        case .connectionError:
            let cause = failure.underlying.map { ": \(ConnectionFailure.reason($0))" } ?? ""
            return make(.unavailable, "cannot connect to the server\(cause); the statement was not sent", retryable: true)
        case .serverClosedConnection, .uncleanShutdown, .messageDecodingFailure,
             .unexpectedBackendMessage, .receivedUnencryptedDataAfterSSLRequest:
            let cause = failure.underlying.map { ": \(ConnectionFailure.reason($0))" } ?? ""
            return make(.unavailable, "the connection to the server was lost or could not be made (\(failure.code))\(cause); "
                        + "the statement may or may not have run", retryable: true)
        case .clientClosedConnection where failure.underlying != nil:
            // The connection closed itself after a failure of its own (the server's going away).
            return make(.unavailable, "the connection was closed under the statement (\(failure.code)): \(failure.underlying!); "
                        + "the statement may or may not have run", retryable: true)
        case .clientClosedConnection, .poolClosed:
            return make(.unavailable, "the connection pool is closed (\(failure.code)): the client's run() has ended")
        case .sslUnsupported:
            return make(.unavailable, "the server does not offer TLS, which sslmode requires")
        case .failedToAddSSLHandler:
            return make(.unavailable, "TLS could not be set up: \(failure.underlying.map { "\($0)" } ?? "unknown reason")")
        case .unsupportedAuthMechanism, .authMechanismRequiresPassword, .saslError:
            return make(.permissionDenied, "the server refused the login (\(failure.code)): check the user and the password")
        case .queryCancelled:
            return make(.timedOut, "the statement was cancelled", retryable: true)
        case .tooManyParameters:
            return make(.invalidArgument, "the batch has too many parameters for one statement")
        default:
            return make(.io, "the database failed: \(failure.code)")
        }
    }

    /// The error for a failure the server reported, by its SQLSTATE; `committing` when it
    /// came after the statement's answer, as its implicit transaction was being committed.
    private static func serverError(
        state: String, text: String, committing: Bool, _ make: (StoreError.Code, String, Bool) -> StoreError
    ) -> StoreError {
        let said = "the server said: \(text) (SQLSTATE \(state))"
            + (committing ? "; it came when the change was being committed, which rolled it back" : "")
        switch state {
        case "28P01", "28000":
            return make(.permissionDenied, "the server refused the login: \(said)", false)
        case "42501":
            return make(.permissionDenied, "the user may not do this: \(said)", false)
        case "3D000":
            return make(.unavailable, "the database does not exist: \(said)", false)
        case "3F000":
            return make(.invalidArgument, "the schema does not exist: \(said); create it first", false)
        case "42P01":
            return make(.io, "the store's table is gone: \(said)", false)
        case "57014":
            return make(.timedOut, "the statement ran past the server's statement_timeout (or was cancelled): \(said)", true)
        case "55P03":
            return make(.timedOut, "a lock was not granted in time: \(said)", true)
        case "40001", "40P01":
            return make(.unavailable, "the transaction was rolled back by the server to resolve a conflict: \(said)", true)
        case "25006":
            return make(.readOnly, "the server accepts no writes: \(said)", false)
        case "53100":
            return make(.outOfSpace, "the server's disk is full: \(said)", true)
        case "54000", "54001":
            return make(.valueTooLarge, "the value is too large for the server: \(said)", false)
        case _ where state.hasPrefix("08"), _ where state.hasPrefix("57P"), _ where state.hasPrefix("53"):
            return make(.unavailable, "the server is unavailable: \(said)", true)
        default:
            return make(.io, "the statement failed: \(said)", false)
        }
    }

    /// The error for a value over ``Options/maximumValueSize``.
    func tooLarge(_ size: Int64, _ key: StoreKey) -> StoreError {
        StoreError(.valueTooLarge, operation: .write, key: key, store: description,
                   message: "the value has \(size) bytes, more than the store's maximum of \(options.maximumValueSize) "
                    + "(Options.maximumValueSize, URL option max-value-size); nothing was written")
    }
}
