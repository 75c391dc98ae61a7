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
    /// Options: `endpoint` (an `http` or `https` URL; defaults to AWS's endpoint of the
    /// region), `region` (default `AWS_REGION`, else `us-east-1`), `addressing` (`path` or
    /// `virtual`; `path` by default with an endpoint, `virtual` on AWS), `listing`
    /// (`automatic`, `server` or `walk`: see ``Options/ListingOrder``). The credentials come
    /// from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`, never from the
    /// URL, so that no secret is written in a command line or a log.
    public struct URLConfiguration: Sendable {
        /// The bucket.
        public var bucket: String
        /// The prefix of every key (empty, or ending with `/`).
        public var prefix: String
        /// The client's configuration.
        public var client: S3ClientConfiguration
        /// The store's options.
        public var options: Options

        /// Reads an `s3:` URL, with the credentials from `environment`.
        ///
        /// - Throws: ``StoreError/Code/invalidArgument`` for another scheme, a missing bucket, a
        ///   user or password in the URL, an unknown option or bad value, or missing credentials.
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
            let region = try reader.string("region") ?? environment["AWS_REGION"].flatMap { $0.isEmpty ? nil : $0 } ?? "us-east-1"
            let addressing = try reader.choice("addressing", from: ["path": S3ClientConfiguration.Addressing.path, "virtual": .virtualHost])
            let listing = try reader.choice("listing", from: ["automatic": Options.ListingOrder.automatic, "server": .server,
                                                              "walk": .hierarchyWalk])
            try reader.rejectUnknown()
            guard let credentials = S3Credentials.fromEnvironment(environment) else {
                throw url.invalid("an S3 store needs credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
            }
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
            } catch {
                throw url.invalid(error.message)
            }
            self.bucket = bucket
            self.prefix = prefix
            self.options = Options(listingOrder: listing ?? .automatic)
        }
    }
}

extension StoreScheme {
    /// `s3://bucket/prefix?endpoint=…&region=…`: an ``S3Store``; credentials from the standard
    /// AWS variables. See ``S3Store/URLConfiguration``.
    public static var s3: StoreScheme {
        StoreScheme(
            name: "s3",
            usage: "s3://bucket/prefix?endpoint=http://host:port&region=us-east-1",
            summary: "objects of an S3 bucket (AWS, MinIO, SeaweedFS, …) under a prefix; options endpoint, region, "
                + "addressing=path|virtual, listing=automatic|server|walk; keys from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
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
