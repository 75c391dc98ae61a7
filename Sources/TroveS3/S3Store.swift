import Foundation
public import Trove
public import TroveS3Client
import Synchronization

/// A bucket, or a prefix of one, as a `KeyValueStore`: each entry one object whose bytes are
/// exactly the value, so that presigned URLs, `aws s3 cp` and every other S3 tool see the real
/// data.
///
///     let client = S3Client(configuration: try S3ClientConfiguration(
///         endpoint: URL(string: "http://127.0.0.1:8333")!, credentials: credentials))
///     let store = S3Store(bucket: "photos", prefix: "2026/", client: client)
///
/// What it keeps and claims:
/// - Metadata from the object's headers: size, S3's ETag (a digest of the content, so an
///   identical rewrite keeps it: no `StoreCapabilities.distinctETagPerWrite`) and the
///   last-modified time (whole seconds). No creation date.
/// - Conditions through S3's conditional requests: `If-None-Match: *` for
///   `WriteCondition.ifAbsent`, `If-Match` for `WriteCondition.ifMatches(_:)` and for
///   conditional deletes; atomic as far as the server makes them so.
/// - No expiry: S3 has no per-object lifetime that reads and listings honour (a lifecycle rule
///   deletes objects a day or more late). A write with an expiry throws
///   `StoreError.Code.notSupported`; an `ExpiringStore` layer over this store gives expiry.
/// - Listing in byte order on every server: in the server's own order where it is byte order
///   (AWS, MinIO, Ceph, GCS), and through a depth-first walk of delimiter listings where it is
///   not (SeaweedFS lists directory by directory); see ``Options/ListingOrder``.
/// - Objects under the prefix whose names are not valid `StoreKey`s (a directory marker
///   ending in `/`, say) are left out of listings.
/// - Every valid key is kept as it is, except on SeaweedFS, which stores a backslash as a slash
///   (`a\b` would become another key, `a/b`) and takes no segment longer than 255 bytes: there
///   such keys are refused with `StoreError.Code.invalidKey` before any request; see
///   ``Options/KeyRules``.
public struct S3Store: KeyValueStore {
    /// The bucket.
    public let bucket: String
    /// What every key is stored under: empty, or ending with `/`.
    public let prefix: String
    /// The client that sends the requests.
    public let client: S3Client
    /// How the store lists and batches.
    public let options: Options

    let detectedServer: ServerDetection

    /// A store over `bucket`, its keys under `prefix`.
    ///
    /// - Parameters:
    ///   - bucket: The bucket, which must exist.
    ///   - prefix: A prefix of every object's key; `/` is added when it does not end with one.
    ///     Defaults to none.
    ///   - client: The client, with the endpoint and the credentials.
    ///   - options: Listing order and batch concurrency. Defaults to ``Options/init(listingOrder:keyRules:batchConcurrency:concurrentParts:)``.
    public init(bucket: String, prefix: String = "", client: S3Client, options: Options = Options()) {
        self.bucket = bucket
        self.prefix = prefix.isEmpty || prefix.hasSuffix("/") ? prefix : prefix + "/"
        self.client = client
        self.options = options
        self.detectedServer = ServerDetection()
    }

    /// `S3Store(s3://bucket/prefix/ at http://host:port)`, without credentials.
    public var description: String {
        "S3Store(s3://\(bucket)/\(prefix) at \(client.configuration.endpoint.absoluteString))"
    }

    /// Persistence, retention, conditional writes and deletes, shared across processes,
    /// modification dates, and streaming (a value streams out of a GET's body and into a
    /// multipart upload, never held whole).
    public var capabilities: StoreCapabilities {
        [.persistence, .retention, .conditionalWrites, .conditionalDeletes, .sharedAcrossProcesses, .modificationDate,
         .streaming]
    }

    /// The object key of `key`.
    func objectKey(_ key: StoreKey) -> String { prefix + key.rawValue }

    /// The store key of an object key under the prefix, or `nil` for a name that is not a
    /// valid key.
    func storeKey(ofObject name: String) -> StoreKey? {
        guard name.hasPrefix(prefix) else { return nil }
        return try? StoreKey(validating: String(name.dropFirst(prefix.count)))
    }
}

extension S3Store {
    /// How an ``S3Store`` lists and batches.
    public struct Options: Sendable, Hashable {
        /// How listings come out in byte order.
        public enum ListingOrder: String, Sendable, Hashable {
            /// Asks the server once (its `Server` header) and walks the hierarchy on SeaweedFS,
            /// taking the server's order elsewhere.
            case automatic
            /// The server lists in byte order (AWS, MinIO, Ceph, GCS): one flat listing.
            case server
            /// A depth-first walk of delimiter listings, merging keys and prefixes: byte order on
            /// servers that list by directory, at the cost of one listing request per prefix
            /// (per "directory") or more.
            case hierarchyWalk
        }

        /// Which keys the server keeps as they are.
        public enum KeyRules: String, Sendable, Hashable {
            /// Asks the server once (its `Server` header, in the same request as the listing
            /// order's, made only when a key could need it) and takes SeaweedFS's rules there,
            /// S3's elsewhere.
            case automatic
            /// S3's: every `StoreKey` whose object key (with the prefix) is at most 1,024 bytes.
            case s3
            /// SeaweedFS's, which keeps objects as files of its filer: S3's, and no backslash (it
            /// would be stored as a slash, making `a\b` the key `a/b`) and no segment (the text
            /// between two `/`) longer than 255 bytes.
            case seaweedFS
        }

        /// How listings come out in byte order. Defaults to ``ListingOrder/automatic``.
        public var listingOrder: ListingOrder
        /// Which keys the server keeps as they are; the others are refused with
        /// `StoreError.Code.invalidKey`. Defaults to ``KeyRules/automatic``.
        public var keyRules: KeyRules
        /// How many requests a batch read or write keeps in flight. Defaults to 16.
        public var batchConcurrency: Int
        /// How many parts of a streamed write's multipart upload (or of a server-side copy) are
        /// sent at once; memory holds about one part more. Defaults to 4.
        public var concurrentParts: Int

        /// Options.
        public init(listingOrder: ListingOrder = .automatic, keyRules: KeyRules = .automatic, batchConcurrency: Int = 16,
                    concurrentParts: Int = S3Client.defaultConcurrentParts) {
            self.listingOrder = listingOrder
            self.keyRules = keyRules
            self.batchConcurrency = max(1, batchConcurrency)
            self.concurrentParts = max(1, concurrentParts)
        }
    }

    /// The listing order the store uses: the option, or what was detected.
    public func effectiveListingOrder() async throws -> Options.ListingOrder {
        switch options.listingOrder {
        case .server, .hierarchyWalk: return options.listingOrder
        case .automatic: return try await isOnSeaweedFS(.list) ? .hierarchyWalk : .server
        }
    }

    /// The key rules the store applies: the option, or what was detected.
    public func effectiveKeyRules() async throws -> Options.KeyRules {
        try await effectiveKeyRules(.metadata)
    }

    func effectiveKeyRules(_ operation: StoreOperation) async throws -> Options.KeyRules {
        switch options.keyRules {
        case .s3, .seaweedFS: return options.keyRules
        case .automatic: return try await isOnSeaweedFS(operation) ? .seaweedFS : .s3
        }
    }

    /// Whether the server says it is SeaweedFS, asked once per store.
    private func isOnSeaweedFS(_ operation: StoreOperation) async throws -> Bool {
        if let known = detectedServer.isSeaweedFS { return known }
        let server = try await mapErrors(operation, key: nil) {
            try await client.listObjectsV2(bucket: bucket, prefix: prefix, maxKeys: 1).server
        }
        let isSeaweedFS = (server ?? "").lowercased().contains("seaweedfs")
        detectedServer.set(isSeaweedFS)
        return isSeaweedFS
    }
}

/// What the server is, found once per store.
final class ServerDetection: Sendable {
    private let state = Mutex<Bool?>(nil)
    var isSeaweedFS: Bool? { state.withLock { $0 } }
    func set(_ isSeaweedFS: Bool) { state.withLock { $0 = isSeaweedFS } }
}
