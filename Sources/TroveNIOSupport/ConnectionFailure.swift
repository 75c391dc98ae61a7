public import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The reason a connection could not be made, or broke, in a few words for an error message:
/// `connection refused`, `no address for host 'db.internal'`, `no connection within 10 s`.
///
/// SwiftNIO's errors describe themselves for debugging (`Connection errors:
/// SingleConnectionFailure(target: [IPv4]127.0.0.1/127.0.0.1:1, error: connection reset (error
/// set): Connection refused) (errno: 111))`); a user needs the reason alone.
public enum ConnectionFailure {
    /// The reason `error` says, or its own description when it is not one of NIO's.
    public static func reason(_ error: any Error) -> String {
        switch error {
        case let failure as NIOConnectionError:
            // Happy eyeballs tried each address in turn: the first failure tells the most.
            if let first = failure.connectionErrors.first { return reason(first.error) }
            if let resolution = failure.dnsAError ?? failure.dnsAAAAError { return reason(resolution) }
            return "no address for host '\(failure.host)'"
        case let failure as SocketAddressError.UnknownHost:
            return "no address for host '\(failure.host)' (\(failure.errorDescription.prefix(1).lowercased() + failure.errorDescription.dropFirst()))"
        case let failure as SocketAddressError:
            if case .unknown(let host, _) = failure { return "no address for host '\(host)'" }
            return String(describing: failure)
        case let failure as IOError:
            return words(errno: failure.errnoCode)
        case let failure as ChannelError:
            switch failure {
            case .connectTimeout(let amount): return "no connection within \(seconds(amount))"
            case .ioOnClosedChannel, .alreadyClosed, .eof: return "the connection was closed"
            default: return String(describing: failure)
            }
        default:
            return String(describing: error)
        }
    }

    /// The system's words for `code`, lowercased: `connection refused`.
    static func words(errno code: Int32) -> String {
        let text = String(cString: strerror(code))
        return text.prefix(1).lowercased() + text.dropFirst()
    }

    /// `amount` as seconds, such as `10 s` or `0.5 s`.
    static func seconds(_ amount: TimeAmount) -> String {
        let milliseconds = amount.nanoseconds / 1_000_000
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000) s" : "\(Double(milliseconds) / 1000) s"
    }
}
