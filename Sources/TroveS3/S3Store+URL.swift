import Foundation
public import Trove
public import TroveS3Client

extension S3Store {
    /// What an `s3:` store URL describes: the bucket, the prefix and how to reach the server.
    ///
    ///     s3://photos                                           the bucket photos on AWS (us-east-1)
    ///     s3://photos/2026/?region=eu-central-1                 keys under 2026/
    ///     s3://trove/app?endpoint=http://127.0.0.1:8333         a local SeaweedFS or MinIO
    ///
    ///     s3://backups?profile=archive                          keys and region of a profile
    ///
    /// Options: `endpoint` (an `http` or `https` URL; defaults to AWS's endpoint of the
    /// region), `region` (default `AWS_REGION`, else `AWS_DEFAULT_REGION`, else the profile's
    /// region, else `us-east-1`), `profile` (a profile of the shared credentials and config
    /// files), `addressing` (`path` or `virtual`; `path` by default with an endpoint, `virtual`
    /// on AWS), `connect` (`host:port` to connect to in place of the request's host name:
    /// `S3ClientConfiguration.connectionAddress`), `listing` (`automatic`, `server` or
    /// `walk`: see ``Options/ListingOrder``), `keys` (`automatic`, `s3` or `seaweedfs`: see
    /// ``Options/KeyRules``), `parts` (how many parts of a multipart upload are sent at once,
    /// default 4).
    ///
    /// The credentials never come from the URL, so that no secret is written in a command line
    /// or a log: they are found as the AWS command line finds them (see `S3SharedSettings`):
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN` unless `profile` is
    /// given, else the profile (`profile`, else `AWS_PROFILE`, else `default`) in
    /// `~/.aws/credentials` (or `AWS_SHARED_CREDENTIALS_FILE`) and `~/.aws/config` (or
    /// `AWS_CONFIG_FILE`).
    public struct URLConfiguration: Sendable {
        /// The bucket.
        public var bucket: String
        /// The prefix of every key (empty, or ending with `/`).
        public var prefix: String
        /// The client's configuration.
        public var client: S3ClientConfiguration
        /// The store's options.
        public var options: Options

        /// Reads an `s3:` URL, with the credentials from `environment` and the shared files it
        /// locates (through `HOME` and the `AWS_*_FILE` variables).
        ///
        /// - Throws: `StoreError.Code.invalidArgument` for another scheme, a missing bucket, a
        ///   user or password in the URL, an unknown option or bad value, missing credentials, or
        ///   a profile that is missing, incomplete or unreadable (the message names it and the
        ///   files; its underlying error is the `S3ProfileError`).
        public init(_ url: StoreURL, environment: [String: String]) throws(StoreError) {
            guard url.scheme == "s3" else { throw url.invalid("an S3 store needs an s3: URL, not a \(url.scheme): one") }
            guard let bucket = url.host, !bucket.isEmpty else {
                throw url.invalid("an s3 URL needs a bucket: s3://bucket/prefix")
            }
            if url.user != nil || url.password != nil {
                throw url.invalid("an s3 URL takes no credentials; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
            }
            if url.port != nil { throw url.invalid("an s3 URL takes no port; give the server as ?endpoint=http://host:port") }
            var reader = url.optionReader
            let endpointText = try reader.string("endpoint")
            let regionOption = try reader.string("region")
            let profile = try reader.string("profile")
            let parts = try reader.string("parts")
            let addressing = try reader.choice("addressing", from: ["path": S3ClientConfiguration.Addressing.path, "virtual": .virtualHost])
            let connect = try reader.string("connect")
            let listing = try reader.choice("listing", from: ["automatic": Options.ListingOrder.automatic, "server": .server,
                                                              "walk": .hierarchyWalk])
            let keyRules = try reader.choice("keys", from: ["automatic": Options.KeyRules.automatic, "s3": .s3, "seaweedfs": .seaweedFS])
            try reader.rejectUnknown()
            var concurrentParts = S3Client.defaultConcurrentParts
            if let parts {
                guard let count = Int(parts), (1...64).contains(count) else {
                    throw url.invalid("parts must be a number of parts from 1 to 64, not '\(parts)'")
                }
                concurrentParts = count
            }
            var connectionAddress: S3ClientConfiguration.ConnectionAddress?
            if let connect {
                // host:port, or [IPv6]:port.
                let separator = connect.lastIndex(of: ":")
                var host = separator.map { String(connect[..<$0]) } ?? ""
                if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
                guard let separator, !host.isEmpty, let port = Int(connect[connect.index(after: separator)...]),
                      (1...65535).contains(port) else {
                    throw url.invalid("connect must be host:port (an IPv6 address in brackets), not '\(connect)'")
                }
                connectionAddress = .init(host: host, port: port)
            }
            let shared: S3SharedSettings
            do {
                shared = try S3SharedSettings.resolve(region: regionOption, profile: profile, environment: environment)
            } catch {
                let invalid = url.invalid("an S3 store needs credentials: \(error.message)")
                throw StoreError(invalid.code, operation: invalid.operation, message: invalid.message, underlying: error)
            }
            let credentials = shared.credentials
            let region = shared.region ?? "us-east-1"
            let endpoint: URL
            if let endpointText {
                guard let parsed = URL(string: endpointText) else { throw url.invalid("endpoint '\(endpointText)' is not a URL") }
                endpoint = parsed
            } else {
                endpoint = URL(string: "https://s3.\(region).amazonaws.com")!
            }
            var prefix = String(url.path.drop { $0 == "/" })
            if !prefix.isEmpty && !prefix.hasSuffix("/") { prefix += "/" }
            do {
                client = try S3ClientConfiguration(endpoint: endpoint, region: region, credentials: credentials,
                                                   addressing: addressing ?? (endpointText == nil ? .virtualHost : .path))
                client.connectionAddress = connectionAddress
            } catch {
                throw url.invalid(error.message)
            }
            self.bucket = bucket
            self.prefix = prefix
            self.options = Options(listingOrder: listing ?? .automatic, keyRules: keyRules ?? .automatic,
                                   concurrentParts: concurrentParts)
        }
    }
}

extension StoreScheme {
    /// `s3://bucket/prefix?endpoint=…&region=…`: an ``S3Store``; credentials from the standard
    /// AWS variables. See ``S3Store/URLConfiguration``.
    public static var s3: StoreScheme {
        StoreScheme(
            name: "s3",
            usage: "s3://bucket/prefix?endpoint=http://host:port&region=us-east-1&profile=name",
            summary: "objects of an S3 bucket (AWS, MinIO, SeaweedFS, …) under a prefix; keys from AWS_ACCESS_KEY_ID and "
                + "AWS_SECRET_ACCESS_KEY or a profile of ~/.aws/credentials and ~/.aws/config",
            options: [.init("endpoint", "<url>"), .init("region"), .init("profile"), .init("parts", "1-64"),
                      .init("addressing", "path|virtual"),
                      .init("connect", "host:port"), .init("listing", "automatic|server|walk"),
                      .init("keys", "automatic|s3|seaweedfs")]
        ) { url, context in
            let settings = try S3Store.URLConfiguration(url, environment: context.environment)
            return OpenedStore(S3Store(bucket: settings.bucket, prefix: settings.prefix,
                                       client: S3Client(configuration: settings.client), options: settings.options))
        }
    }
}

extension StoreOpener {
    /// The standard schemes and `s3:`.
    public static var withS3: StoreOpener { standard.adding(.s3) }
}
