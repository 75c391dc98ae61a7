public import Foundation

/// The credentials and region that the AWS command line and SDKs would use: from explicit
/// values, the environment, and the shared files (`~/.aws/credentials`, `~/.aws/config`).
///
///     let settings = try S3SharedSettings.resolve(profile: "backup")
///     let configuration = try S3ClientConfiguration(endpoint: endpoint, region: settings.region ?? "us-east-1",
///                                                   credentials: settings.credentials)
///
/// The precedence is the AWS CLI's:
/// 1. Credentials given to ``resolve(credentials:region:profile:environment:)``.
/// 2. `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`, unless a profile is
///    given explicitly (an explicit profile overrides these variables; one chosen with
///    `AWS_PROFILE` does not).
/// 3. The profile's `aws_access_key_id`, `aws_secret_access_key` and `aws_session_token` in the
///    credentials file (`AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`), in its
///    `[name]` section.
/// 4. The same keys in the config file (`AWS_CONFIG_FILE`, else `~/.aws/config`), in its
///    `[profile name]` section (`[default]` for the default profile).
///
/// The profile is the one given, else `AWS_PROFILE`, else `default`. A profile that is given or
/// named by `AWS_PROFILE` must exist in one of the files. The region is the one given, else
/// `AWS_REGION`, else `AWS_DEFAULT_REGION`, else the profile's `region` in the config file.
/// `~` is the `HOME` of the environment given; without it, only files named by the variables
/// are read.
///
/// Profiles that get their credentials elsewhere (`role_arn`, `credential_process`, `sso_*`,
/// `web_identity_token_file`) are refused with an error that says so: this client has no STS,
/// process or SSO provider. No error and no description holds a secret.
public struct S3SharedSettings: Sendable, Hashable {
    /// Where the credentials came from.
    public enum Source: Sendable, Hashable, CustomStringConvertible {
        /// Given by the caller.
        case explicit
        /// The `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` variables.
        case environment
        /// The credentials file at this path.
        case credentialsFile(String)
        /// The config file at this path.
        case configFile(String)

        /// `the credentials file /home/me/.aws/credentials`, say.
        public var description: String {
            switch self {
            case .explicit: return "the credentials given"
            case .environment: return "the environment (AWS_ACCESS_KEY_ID)"
            case .credentialsFile(let path): return "the credentials file \(path)"
            case .configFile(let path): return "the config file \(path)"
            }
        }
    }

    /// The credentials.
    public var credentials: S3Credentials
    /// Where they came from.
    public var source: Source
    /// The region, or `nil` when none is set anywhere (S3 clients then use `us-east-1`).
    public var region: String?
    /// The profile that was looked up (`default` when none was named).
    public var profile: String

    /// The settings from `credentials`, `region`, `profile` and `environment`, with the AWS CLI's
    /// precedence (see ``S3SharedSettings``).
    ///
    /// - Parameters:
    ///   - credentials: Credentials that override every other source.
    ///   - region: A region that overrides every other source.
    ///   - profile: The profile to read; overrides `AWS_PROFILE` and the credential variables.
    ///   - environment: The variables to read (`AWS_*`, `HOME`). Defaults to the process's.
    /// - Throws: ``S3ProfileError``: a named profile in neither file, a profile without keys or
    ///   with only half of them, a profile that needs a provider this client lacks, a file that
    ///   cannot be read or parsed, or no credentials anywhere.
    public static func resolve(credentials: S3Credentials? = nil, region: String? = nil, profile: String? = nil,
                               environment: [String: String] = ProcessInfo.processInfo.environment) throws(S3ProfileError) -> S3SharedSettings {
        func variable(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        let named = profile.flatMap { $0.isEmpty ? nil : $0 } ?? variable("AWS_PROFILE")
        let profileName = named ?? "default"
        let files = try SharedFiles(environment: environment)

        let credentialsSection = files.credentials.map { ($0, $0.section(profileName)) }
        let configSection = files.config.map { ($0, $0.section(profileName)) }
        let found = credentialsSection?.1 != nil || configSection?.1 != nil
        if let named, !found {
            throw S3ProfileError(kind: .profileNotFound, profile: named, files: files.paths,
                                 message: "the profile '\(named)' is in neither \(files.pathList)"
                                    + (profile == nil ? " (it is named by AWS_PROFILE)" : ""))
        }

        let resolvedRegion = region.flatMap { $0.isEmpty ? nil : $0 } ?? variable("AWS_REGION") ?? variable("AWS_DEFAULT_REGION")
            ?? configSection?.1?["region"].flatMap { $0.isEmpty ? nil : $0 }

        if let credentials {
            return S3SharedSettings(credentials: credentials, source: .explicit, region: resolvedRegion, profile: profileName)
        }
        if profile == nil {
            let id = variable("AWS_ACCESS_KEY_ID"), secret = variable("AWS_SECRET_ACCESS_KEY")
            if let id, let secret {
                return S3SharedSettings(credentials: S3Credentials(accessKeyID: id, secretAccessKey: secret,
                                                                   sessionToken: variable("AWS_SESSION_TOKEN")),
                                        source: .environment, region: resolvedRegion, profile: profileName)
            }
            if id != nil || secret != nil {
                throw S3ProfileError(kind: .incompleteCredentials, profile: nil, files: [],
                                     message: id != nil ? "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"
                                                        : "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not")
            }
        }
        for candidate in [credentialsSection, configSection] {
            guard case let (file, section?)? = candidate else { continue }
            if let keys = try keys(of: section, profile: profileName, file: file) {
                let source: Source = file.kind == .credentials ? .credentialsFile(file.path) : .configFile(file.path)
                return S3SharedSettings(credentials: keys, source: source, region: resolvedRegion, profile: profileName)
            }
        }
        if found {
            // The profile exists but holds no keys: say what it holds instead, if anything.
            let sections = [credentialsSection, configSection].compactMap { $0 }.filter { $0.1 != nil }
            let providers = ["role_arn", "credential_process", "sso_session", "sso_start_url", "web_identity_token_file"]
            for (file, section) in sections {
                if let setting = providers.first(where: { section![$0] != nil }) {
                    throw S3ProfileError(kind: .unsupportedProfile, profile: profileName, files: [file.path],
                                         message: "the profile '\(profileName)' in \(file.path) gets its credentials through "
                                            + "\(setting), which this S3 client does not support; give it aws_access_key_id and "
                                            + "aws_secret_access_key, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
                }
            }
            throw S3ProfileError(kind: .incompleteCredentials, profile: profileName, files: sections.map(\.0.path),
                                 message: "the profile '\(profileName)' in \(sections.map(\.0.path).joined(separator: " and ")) "
                                    + "has no aws_access_key_id and aws_secret_access_key")
        }
        throw S3ProfileError(kind: .noCredentials, profile: profileName, files: files.paths,
                             message: "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or write a profile '\(profileName)' in "
                                + (files.paths.isEmpty ? "~/.aws/credentials (no HOME to find it)"
                                    : "\(files.paths.joined(separator: " or ")) (none is there now)"))
    }

    /// The keys of a profile's section; `nil` when it has neither key.
    private static func keys(of section: [String: String], profile: String, file: SharedFile) throws(S3ProfileError) -> S3Credentials? {
        let id = section["aws_access_key_id"].flatMap { $0.isEmpty ? nil : $0 }
        let secret = section["aws_secret_access_key"].flatMap { $0.isEmpty ? nil : $0 }
        switch (id, secret) {
        case (nil, nil): return nil
        case (let id?, let secret?):
            return S3Credentials(accessKeyID: id, secretAccessKey: secret,
                                 sessionToken: section["aws_session_token"].flatMap { $0.isEmpty ? nil : $0 })
        default:
            throw S3ProfileError(kind: .incompleteCredentials, profile: profile, files: [file.path],
                                 message: "the profile '\(profile)' in \(file.path) has "
                                    + (id == nil ? "aws_secret_access_key but no aws_access_key_id" : "aws_access_key_id but no aws_secret_access_key"))
        }
    }
}

/// Why ``S3SharedSettings/resolve(credentials:region:profile:environment:)`` found no usable
/// settings. The description names the profile and the files, never a secret.
public struct S3ProfileError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong.
    public enum Kind: String, Sendable, Hashable {
        /// The profile that was named is in neither file.
        case profileNotFound
        /// A profile (or the environment) holds only one of the two keys, or neither.
        case incompleteCredentials
        /// The profile gets its credentials through a provider this client does not have.
        case unsupportedProfile
        /// A file exists but cannot be read.
        case unreadableFile
        /// A file is not in the INI format of the shared files.
        case malformedFile
        /// No source holds credentials.
        case noCredentials
    }

    /// What went wrong.
    public var kind: Kind
    /// The profile concerned, if any.
    public var profile: String?
    /// The files concerned.
    public var files: [String]
    /// What went wrong, naming the profile and the files.
    public var message: String

    /// An error from its parts.
    public init(kind: Kind, profile: String?, files: [String], message: String) {
        self.kind = kind
        self.profile = profile
        self.files = files
        self.message = message
    }

    /// The message.
    public var description: String { "AWS settings: " + message }
}

/// The two shared files, as the environment places them.
private struct SharedFiles {
    var credentials: SharedFile?
    var config: SharedFile?

    init(environment: [String: String]) throws(S3ProfileError) {
        func variable(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        let home = variable("HOME")
        func path(_ override: String?, _ fallback: String) -> String? {
            guard let chosen = override ?? home.map({ $0 + "/" + fallback }) else { return nil }
            if chosen == "~" || chosen.hasPrefix("~/") {
                guard let home else { return nil }
                return home + chosen.dropFirst()
            }
            return chosen
        }
        let credentialsPath = path(variable("AWS_SHARED_CREDENTIALS_FILE"), ".aws/credentials")
        let configPath = path(variable("AWS_CONFIG_FILE"), ".aws/config")
        credentials = try credentialsPath.flatMap { path throws(S3ProfileError) in try SharedFile.load(path, kind: .credentials) }
        config = try configPath.flatMap { path throws(S3ProfileError) in try SharedFile.load(path, kind: .config) }
        searched = [credentialsPath, configPath].compactMap { $0 }
    }

    /// The paths looked at, whether or not the files exist.
    var searched: [String]
    var paths: [String] { searched }
    var pathList: String { searched.isEmpty ? "any file (no HOME)" : searched.joined(separator: " nor ") }
}

/// One shared file parsed: its sections, each a table of lower-case keys.
struct SharedFile {
    enum Kind { case credentials, config }

    let path: String
    let kind: Kind
    var sections: [String: [String: String]]

    /// The file at `path`, or `nil` when there is none.
    static func load(_ path: String, kind: Kind) throws(S3ProfileError) -> SharedFile? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw S3ProfileError(kind: .unreadableFile, profile: nil, files: [path],
                                 message: "the file \(path) cannot be read: \((error as NSError).localizedDescription)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw S3ProfileError(kind: .malformedFile, profile: nil, files: [path], message: "the file \(path) is not UTF-8 text")
        }
        return SharedFile(path: path, kind: kind, sections: try parse(text, path: path))
    }

    /// The sections of an INI text as the AWS tools read it: `[section]` headers, `key = value`
    /// (or `key: value`) lines, whole-line comments after `#` or `;`, and indented lines that
    /// continue a setting (nested settings such as `s3 =` blocks, which are skipped). An
    /// error names the line by its number only, since the line may hold a secret.
    static func parse(_ text: String, path: String) throws(S3ProfileError) -> [String: [String: String]] {
        var sections: [String: [String: String]] = [:]
        var current: String?
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if rawLine.first == " " || rawLine.first == "\t" {
                // A continuation or a nested setting of the key above.
                guard current != nil else {
                    throw S3ProfileError(kind: .malformedFile, profile: nil, files: [path],
                                         message: "line \(lineNumber) of \(path) is indented but follows no setting")
                }
                continue
            }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]"), line.count > 2 else {
                    throw S3ProfileError(kind: .malformedFile, profile: nil, files: [path],
                                         message: "line \(lineNumber) of \(path) opens a section without closing it with ]")
                }
                let name = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                current = name
                if sections[name] == nil { sections[name] = [:] }
                continue
            }
            guard let section = current else {
                throw S3ProfileError(kind: .malformedFile, profile: nil, files: [path],
                                     message: "line \(lineNumber) of \(path) holds a setting before any [section]")
            }
            guard let delimiter = line.firstIndex(where: { $0 == "=" || $0 == ":" }) else {
                throw S3ProfileError(kind: .malformedFile, profile: nil, files: [path],
                                     message: "line \(lineNumber) of \(path) is neither a [section] nor a key = value setting")
            }
            let key = line[..<delimiter].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: delimiter)...].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty else {
                throw S3ProfileError(kind: .malformedFile, profile: nil, files: [path],
                                     message: "line \(lineNumber) of \(path) has a setting without a name")
            }
            sections[section]![key] = value
        }
        return sections
    }

    /// The section of `profile`: `[profile]` in the credentials file; `[profile NAME]` in the
    /// config file, or `[default]` (also `[profile default]`) for the default profile.
    func section(_ profile: String) -> [String: String]? {
        switch kind {
        case .credentials:
            return sections[profile]
        case .config:
            for (name, settings) in sections {
                let words = name.split(whereSeparator: { $0 == " " || $0 == "\t" })
                if words.count == 2, words[0] == "profile", words[1] == profile { return settings }
            }
            return profile == "default" ? sections["default"] : nil
        }
    }
}
