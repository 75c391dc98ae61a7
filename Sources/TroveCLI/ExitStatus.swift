import Foundation
import PostgresNIO
import Trove
import TroveRedisClient
import TroveS3Client

/// How `trove` ends, as documented in `trove --help`.
enum ExitStatus: Int32 {
    /// The command did what was asked.
    case success = 0
    /// The key holds no value.
    case notFound = 1
    /// Invalid input or usage: arguments, a key, a store URL, an option the store cannot honour.
    case invalidInput = 2
    /// A condition did not hold (`--if-absent`, `--if-match`, a bench prefix that holds keys,
    /// `sync --max-delete`), or `check` found the stores differ.
    case conditionFailed = 3
    /// The store, or a local file, could not be read or written.
    case storageFailure = 4
    /// Interrupted by the user (Ctrl-C during `bench`), after cleaning up.
    case interrupted = 130

    /// The status for a store error's code.
    init(_ code: StoreError.Code) {
        switch code {
        case .invalidKey, .invalidArgument, .notSupported, .valueTooLarge:
            self = .invalidInput
        case .conditionFailed, .alreadyExists, .limitExceeded:
            self = .conditionFailed
        default:
            self = .storageFailure
        }
    }
}

/// A failure the command itself detects, with the status it ends with.
struct CommandFailure: Error {
    /// How the program ends.
    var status: ExitStatus
    /// One line, without the `trove: ` prefix.
    var message: String

    init(_ status: ExitStatus, _ message: String) {
        self.status = status
        self.message = message
    }

    /// The key holds no live value.
    static func notFound(_ key: StoreKey, in store: any KeyValueStore) -> CommandFailure {
        CommandFailure(.notFound, "key '\(key)' not found in \(store)")
    }
}

/// A ``StoreError`` as the command line shows it: one line and an exit status.
///
/// A ``CommandFailure`` found among the error's causes (a local file that could not be read
/// while the store streamed it in) wins over the store's wrapping of it.
struct StoreErrorReport: Error {
    var status: ExitStatus
    var message: String

    init?(_ error: any Error) {
        guard let storeError = error as? StoreError else { return nil }
        var cause = storeError.underlying
        while let current = cause {
            if let failure = current as? CommandFailure {
                self.status = failure.status
                self.message = failure.message
                return
            }
            cause = (current as? StoreError)?.underlying
        }
        self.status = ExitStatus(storeError.code)
        switch storeError.code {
        case .invalidKey, .invalidArgument:
            // The message names the key or the argument and the rule; code and operation add nothing.
            self.message = storeError.message
        default:
            var text = storeError.description
            if let underlying = storeError.underlying, !Self.isInMessage(underlying) {
                text += " (cause: \(Self.describe(underlying)))"
            }
            self.message = text
        }
    }

    /// Whether the store's message already says what `cause` says: the networked stores build
    /// their messages from their clients' errors, whose own descriptions only repeat them (or,
    /// for postgres-nio's, hide them).
    static func isInMessage(_ cause: any Error) -> Bool {
        cause is StoreError || cause is S3Error || cause is RedisClientError || cause is PSQLError
    }

    /// A cause in words: Foundation's errors by their localized text (their `description` is a
    /// dump of the error's dictionary), others as they describe themselves.
    static func describe(_ cause: any Error) -> String {
        let error = cause as NSError
        if error.domain == NSCocoaErrorDomain || error.domain == NSPOSIXErrorDomain {
            return error.localizedDescription
        }
        return String(describing: cause)
    }
}
