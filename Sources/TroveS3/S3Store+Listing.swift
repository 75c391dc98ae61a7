import Foundation
public import Trove
import TroveS3Client
import Synchronization

extension S3Store {
    /// Lists one page in byte order: one ListObjectsV2 where the server lists in byte order,
    /// otherwise a walk of delimiter listings resumed at `cursor` (see
    /// ``Options/ListingOrder``).
    public func listPage(_ query: ListQuery, after cursor: ListCursor?, limit: Int) async throws -> ListPage {
        var lister = try await makeLister(query, after: cursor)
        let limit = max(1, limit)
        var elements: [ListElement] = []
        while elements.count < limit, let element = try await lister.next() { elements.append(element) }
        return ListPage(elements: elements, nextCursor: elements.count == limit ? elements.last.map { ListCursor($0.name) } : nil)
    }

    /// Lists what `query` selects, keeping one listing (and, for a walk, one cursor per
    /// depth) across pages.
    public func list(_ query: ListQuery, pageSize: Int) -> StoreListing {
        let size = max(1, pageSize)
        return StoreListing {
            let box = ListerBox()
            return StoreListing.BatchSource(next: {
                if box.lister == nil { box.lister = try await self.makeLister(query, after: nil) }
                var batch: [ListElement] = []
                while batch.count < size, let element = try await box.lister!.next() { batch.append(element) }
                return batch.isEmpty ? nil : batch
            })
        }
    }

    func makeLister(_ query: ListQuery, after cursor: ListCursor?) async throws -> S3Lister {
        let order = try await effectiveListingOrder()
        let after = cursor.map { prefix + $0.rawValue }
        let listingPrefix = prefix + query.prefix
        let client = self.client, bucket = self.bucket, storePrefix = self.prefix
        let store = self
        let mapError: @Sendable (S3Error) -> StoreError = { store.storeError($0, .list, key: nil) }
        let fetch: S3HierarchyWalk.Fetch = { levelPrefix, startAfter, token in
            do {
                let page = try await client.listObjectsV2(bucket: bucket, prefix: levelPrefix, delimiter: "/",
                                                          startAfter: startAfter, continuationToken: token)
                return S3LevelPage(entries: page.objects.map { S3LevelEntry(name: $0.key, object: $0) }
                                       + page.commonPrefixes.map { S3LevelEntry(name: $0, object: nil) },
                                   nextContinuationToken: page.nextContinuationToken)
            } catch let error as S3Error {
                throw mapError(error)
            }
        }
        let source: S3Lister.Source
        switch (order, query.delimiter) {
        case (.hierarchyWalk, "/"?):
            let holdsKeys: S3HierarchyWalk.HoldsKeys = { prefix in
                do {
                    return !(try await client.listObjectsV2(bucket: bucket, prefix: prefix, maxKeys: 1).objects.isEmpty)
                } catch let error as S3Error {
                    throw mapError(error)
                }
            }
            source = .walk(S3HierarchyWalk(prefix: listingPrefix, after: after, descends: false, fetch: fetch, holdsKeys: holdsKeys))
        case (.hierarchyWalk, _):
            source = .walk(S3HierarchyWalk(prefix: listingPrefix, after: after, descends: true, fetch: fetch))
        default:
            source = .flat(FlatListing(client: client, bucket: bucket, prefix: listingPrefix,
                                       delimiter: query.delimiter.map(String.init), after: after, mapError: mapError))
        }
        return S3Lister(source: source, query: query, storePrefix: storePrefix, after: cursor?.rawValue,
                        rollsUp: order == .hierarchyWalk && query.delimiter != nil && query.delimiter != "/")
    }
}

final class ListerBox: @unchecked Sendable {
    // Touched only by the one iterator that owns the listing's batch source.
    var lister: S3Lister?
}

/// A flat ListObjectsV2 listing in the server's order, page after page.
struct FlatListing: Sendable {
    let client: S3Client
    let bucket: String
    let prefix: String
    let delimiter: String?
    let after: String?
    let mapError: @Sendable (S3Error) -> StoreError
    var token: String?
    var started = false
    var buffer: [S3LevelEntry] = []
    var index = 0

    init(client: S3Client, bucket: String, prefix: String, delimiter: String?, after: String?,
         mapError: @escaping @Sendable (S3Error) -> StoreError) {
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.delimiter = delimiter
        self.after = after
        self.mapError = mapError
    }

    mutating func next() async throws -> S3LevelEntry? {
        while index == buffer.count {
            if started && token == nil { return nil }
            let page: S3ListPage
            do {
                page = try await client.listObjectsV2(bucket: bucket, prefix: prefix, delimiter: delimiter,
                                                      startAfter: started ? nil : after, continuationToken: token)
            } catch let error as S3Error {
                throw mapError(error)
            }
            started = true
            token = page.nextContinuationToken
            buffer = (page.objects.map { S3LevelEntry(name: $0.key, object: $0) } + page.commonPrefixes.map { S3LevelEntry(name: $0, object: nil) })
                .sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
            index = 0
        }
        defer { index += 1 }
        return buffer[index]
    }
}

/// Turns a listing's entries into the store's elements: the prefix taken off, names that are
/// not keys left out, entries at or before the cursor skipped, and (for a delimiter the server
/// cannot group by) keys rolled up into common prefixes.
struct S3Lister: Sendable {
    enum Source: Sendable {
        case flat(FlatListing)
        case walk(S3HierarchyWalk)
    }

    var source: Source
    let query: ListQuery
    let storePrefix: String
    let after: String?
    let rollsUp: Bool
    var lastPrefix: String?

    init(source: Source, query: ListQuery, storePrefix: String, after: String?, rollsUp: Bool) {
        self.source = source
        self.query = query
        self.storePrefix = storePrefix
        self.after = after
        self.rollsUp = rollsUp
        self.lastPrefix = after
    }

    mutating func next() async throws -> ListElement? {
        while true {
            let entry: S3LevelEntry?
            switch source {
            case .flat(var listing):
                entry = try await listing.next()
                source = .flat(listing)
            case .walk(var walk):
                entry = try await walk.next()
                source = .walk(walk)
            }
            guard let entry else { return nil }
            guard entry.name.hasPrefix(storePrefix) else { continue }
            let name = String(entry.name.dropFirst(storePrefix.count))
            if let after, !after.utf8.lexicographicallyPrecedes(name.utf8) { continue }
            if entry.isPrefix {
                return .commonPrefix(name)
            }
            guard let key = try? StoreKey(validating: name) else { continue }
            if rollsUp, case .commonPrefix(let common)? = query.classify(key) {
                if common == lastPrefix { continue }
                lastPrefix = common
                return .commonPrefix(common)
            }
            guard query.includesMetadata, let object = entry.object else { return .entry(key, nil) }
            let modified = object.lastModified.map { Date(timeIntervalSince1970: $0.timeIntervalSince1970.rounded(.down)) }
            return .entry(key, EntryMetadata(key: key, size: object.size, etag: ETag(S3Store.quoted(object.etag)),
                                             modificationDate: modified ?? Date()))
        }
    }
}
