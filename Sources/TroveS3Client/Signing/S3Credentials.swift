public import Foundation

/// The keys that sign requests: an access key id, its secret and, for temporary credentials,
/// a session token.
///
/// The description names the access key id only; the secret and the token never appear in a
/// description, an error or a log.
public struct S3Credentials: Sendable, Hashable, CustomStringConvertible {
    /// The access key id, such as `AKIAIOSFODNN7EXAMPLE`.
    public var accessKeyID: String
    /// The secret access key.
    public var secretAccessKey: String
    /// The session token of temporary credentials, sent as `X-Amz-Security-Token`; `nil` for
    /// long-term keys.
    public var sessionToken: String?

    /// Credentials from their parts.
    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    /// Credentials from the standard variables `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
    /// (optional) `AWS_SESSION_TOKEN` of `environment`.
    ///
    /// - Returns: `nil` when either key variable is missing or empty.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> S3Credentials? {
        guard let id = environment["AWS_ACCESS_KEY_ID"], !id.isEmpty,
              let secret = environment["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty else { return nil }
        let token = environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        return S3Credentials(accessKeyID: id, secretAccessKey: secret, sessionToken: token)
    }

    /// Credentials as the AWS command line would find them: the environment's keys, else the
    /// profile's in the shared credentials and config files; see ``S3SharedSettings`` for the
    /// precedence and the files.
    ///
    /// - Parameters:
    ///   - profile: The profile to read; overrides `AWS_PROFILE` and the key variables.
    ///   - environment: The variables to read. Defaults to the process's.
    /// - Throws: ``S3ProfileError`` naming the profile and the files.
    public static func resolve(profile: String? = nil,
                               environment: [String: String] = ProcessInfo.processInfo.environment) throws(S3ProfileError) -> S3Credentials {
        try S3SharedSettings.resolve(profile: profile, environment: environment).credentials
    }

    /// `S3Credentials(AKIA…, secret redacted)`.
    public var description: String {
        "S3Credentials(\(accessKeyID), secret redacted\(sessionToken == nil ? "" : ", session token redacted"))"
    }
}
