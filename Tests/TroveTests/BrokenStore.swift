import Foundation
import Trove

/// A memory store with one deliberate flaw, to prove that the check for the clause it breaks
/// fails. Each flaw is a plausible bug in a real backend.
struct BrokenStore: KeyValueStore {
    /// What is wrong with the store.
    enum Flaw: String, Sendable, CaseIterable, CustomStringConvertible {
        /// Each page of a listing comes in reverse order.
        case reversesListing
        /// `ifAbsent` is treated as `always`.
        case ignoresIfAbsent
        /// `ifMatches` is treated as `always`.
        case ignoresIfMatches
        /// A conditional delete deletes whatever is there.
        case ignoresDeleteCondition
        /// Writing the bytes already stored is skipped, keeping the old ETag.
        case skipsIdenticalWrites
        /// Expiry is accepted and dropped.
        case dropsExpiry
        /// Expiration is not claimed, yet expiry is accepted and dropped instead of refused.
        case ignoresExpiryInsteadOfRefusing
        /// Pages hold up to three times the limit.
        case ignoresPageLimit
        /// Every page is the whole listing, cursor and limit ignored.
        case listsEverythingInOnePage
        /// A delimiter listing lists every key under the prefix, flat.
        case ignoresDelimiter
        /// A listing ignores its prefix.
        case ignoresListingPrefix
        /// Deleting `a` also deletes `a/b`.
        case deletesChildrenWithParent
        /// Creation dates are claimed but not reported.
        case losesCreationDate
        /// Later writes report earlier modification dates.
        case datesGoBackwards
        /// `reclaimExpired` reclaims but reports 0.
        case reclaimsSilently
        /// Keys are stored lowercased, as on a case-insensitive file system.
        case foldsCase
        /// Keys over 512 bytes are refused.
        case refusesLongKeys
        /// Reading a missing key throws instead of returning `nil`.
        case throwsForMissingKeys
        /// Writing an empty value deletes the key.
        case dropsEmptyValues
        /// An overwrite with a shorter value leaves the old value's tail.
        case keepsStaleTail
        /// Bytes from 0x80 up are stored as `?`, as a text encoding would.
        case mangles8BitBytes
        /// A streamed write stores each chunk as it arrives, so readers see partial values.
        case writesStreamsInPlace
        /// A delete reports `false` even when it deleted something.
        case deleteReportsNothing
        /// Claims to be shared across processes; each instance is on its own.
        case claimsSharing

        var description: String { rawValue }
    }

    let base: MemoryStore
    let flaw: Flaw

    var description: String { "memory broken: \(flaw)" }

    var capabilities: StoreCapabilities {
        let forwarded = base.capabilities.subtracting(.passedOnOnlyByForwarding)
        switch flaw {
        case .ignoresExpiryInsteadOfRefusing: return forwarded.subtracting(.expiration)
        case .claimsSharing: return forwarded.union(.sharedAcrossProcesses)
        default: return forwarded
        }
    }

    private func inner(_ key: StoreKey) throws -> StoreKey {
        if flaw == .refusesLongKeys, key.byteCount > 512 {
            throw StoreError(.invalidKey, operation: .write, key: key, store: description, message: "key too long")
        }
        return flaw == .foldsCase ? try StoreKey(validating: key.rawValue.lowercased()) : key
    }

    private func damaged(_ metadata: EntryMetadata) -> EntryMetadata {
        var copy = metadata
        if flaw == .losesCreationDate { copy.creationDate = nil }
        if flaw == .datesGoBackwards {
            copy.modificationDate = Date(timeIntervalSinceReferenceDate: 2e9 - metadata.modificationDate.timeIntervalSinceReferenceDate)
        }
        return copy
    }

    func read(_ key: StoreKey) async throws -> StoreEntry? {
        guard var entry = try await base.read(try inner(key)) else {
            if flaw == .throwsForMissingKeys {
                throw StoreError(.io, operation: .read, key: key, store: description, message: "no such file")
            }
            return nil
        }
        entry.metadata = damaged(entry.metadata)
        return entry
    }

    func metadata(for key: StoreKey) async throws -> EntryMetadata? {
        try await base.metadata(for: try inner(key)).map(damaged)
    }

    func write(_ value: Data, for key: StoreKey, options: WriteOptions) async throws -> EntryMetadata {
        var options = options
        var value = value
        switch flaw {
        case .ignoresIfAbsent where options.condition.requiresAbsence,
             .ignoresIfMatches where options.condition.expectedETag != nil:
            options.condition = .always
        case .dropsExpiry, .ignoresExpiryInsteadOfRefusing:
            options.expiry = .never
        case .skipsIdenticalWrites:
            if let current = try await base.read(key), current.value == value, options.condition.isSatisfied(by: current.metadata) {
                return damaged(current.metadata)
            }
        case .dropsEmptyValues where value.isEmpty:
            let current = try await base.metadata(for: key)
            guard options.condition.isSatisfied(by: current) else { break }
            try await base.discard(key)
            return EntryMetadata(key: key, size: 0, etag: ETag("dropped"), modificationDate: Date())
        case .keepsStaleTail:
            if let current = try await base.read(key), current.value.count > value.count {
                value += current.value.dropFirst(value.count)
            }
        case .mangles8BitBytes:
            value = Data(value.map { $0 >= 0x80 ? 0x3F : $0 })
        default:
            break
        }
        return damaged(try await base.write(value, for: try inner(key), options: options))
    }

    func write<Chunks: AsyncSequence & Sendable>(
        contentsOf chunks: Chunks, for key: StoreKey, options: WriteOptions
    ) async throws -> EntryMetadata where Chunks.Element == Data {
        var value = Data()
        var written: EntryMetadata?
        for try await chunk in chunks {
            value.append(chunk)
            if flaw == .writesStreamsInPlace { written = try await write(value, for: key, options: options) }
        }
        if let written { return written }
        return try await write(value, for: key, options: options)
    }

    func delete(_ key: StoreKey, condition: DeleteCondition) async throws -> Bool {
        if flaw == .deletesChildrenWithParent {
            for try await child in try base.keys(withPrefix: key.rawValue + "/") { try await base.discard(child) }
        }
        let deleted = try await base.delete(try inner(key), condition: flaw == .ignoresDeleteCondition ? .always : condition)
        return flaw == .deleteReportsNothing ? false : deleted
    }

    func listPage(_ query: ListQuery, after cursor: ListCursor?, limit: Int) async throws -> ListPage {
        var query = query
        var cursor = cursor
        var limit = limit
        switch flaw {
        case .ignoresPageLimit: limit *= 3
        case .listsEverythingInOnePage: (cursor, limit) = (nil, .max)
        case .ignoresDelimiter: query = try ListQuery(prefix: query.prefix, includesMetadata: query.includesMetadata)
        case .ignoresListingPrefix: query = try ListQuery(prefix: "", delimiter: query.delimiter, includesMetadata: query.includesMetadata)
        default: break
        }
        var page = try await base.listPage(query, after: cursor, limit: limit)
        if flaw == .reversesListing { page.elements.reverse() }
        page.elements = page.elements.map { element in
            guard case .entry(let key, let metadata) = element else { return element }
            return .entry(key, metadata.map(damaged))
        }
        return page
    }

    func reclaimExpired() async throws -> Int {
        let reclaimed = try await base.reclaimExpired()
        return flaw == .reclaimsSilently ? 0 : reclaimed
    }
}
