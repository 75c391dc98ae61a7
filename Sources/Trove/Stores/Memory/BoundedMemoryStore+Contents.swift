import Foundation

extension BoundedMemoryStore {
    /// One entry, linked into the recency list.
    struct Slot {
        var key: StoreKey
        var value: Data
        var etag: ETag
        var modificationDate: Date
        var creationDate: Date
        var expirationDate: Date?
        /// The next less recently used slot, or -1.
        var older: Int
        /// The next more recently used slot, or -1.
        var newer: Int
        /// The value parsed as a copy tier's envelope (see ``CopyTier``), kept from the first
        /// lookup of a copy tier until the value changes.
        var envelope: CacheEnvelope.Parsed? = nil

        func metadata() -> EntryMetadata {
            EntryMetadata(key: key, size: Int64(value.count), etag: etag, modificationDate: modificationDate,
                          creationDate: creationDate, expirationDate: expirationDate)
        }

        func isExpired(at now: Date) -> Bool {
            expirationDate.map { $0 <= now } ?? false
        }
    }

    /// The entries in slots of an array, a doubly linked list through them from the most to the
    /// least recently used, and the totals the bounds are checked against.
    ///
    /// Every operation is O(1) except sorting the keys for a listing, done once after they change.
    struct Contents: ~Copyable {
        private(set) var slots: [Slot] = []
        private var freeSlots: [Int] = []
        private(set) var index: [StoreKey: Int] = [:]
        private var newest = -1
        private var oldest = -1
        /// The bytes of every entry's key and value.
        private(set) var byteCount = 0
        /// The number of live entries removed to make room.
        private(set) var evictionCount = 0
        private var version: UInt64 = 0
        private var order = SortedKeyIndex()

        /// What an entry counts against ``BoundedMemoryStore/maximumBytes``.
        static func cost(of key: StoreKey, _ value: Data) -> Int { key.byteCount + value.count }

        /// The slot of the live entry under `key`, removing the entry if it has expired.
        mutating func live(_ key: StoreKey, now: Date) -> Int? {
            guard let slot = index[key] else { return nil }
            if slots[slot].isExpired(at: now) {
                remove(slot)
                return nil
            }
            return slot
        }

        /// The slot of the live entry under `key`, reading `clock` only when the entry has an
        /// expiration date, and removing the entry if it has expired.
        mutating func live(_ key: StoreKey, clock: WallClock) -> Int? {
            guard let slot = index[key] else { return nil }
            if let expires = slots[slot].expirationDate, expires <= clock.now {
                remove(slot)
                return nil
            }
            return slot
        }

        /// Makes `slot` the most recently used.
        mutating func touch(_ slot: Int) {
            guard slot != newest else { return }
            unlink(slot)
            pushNewest(slot)
        }

        /// The value in `slot` parsed as a copy tier's envelope, parsed once per write.
        mutating func envelope(_ slot: Int) -> CacheEnvelope.Parsed {
            if let parsed = slots[slot].envelope { return parsed }
            let parsed = CacheEnvelope.parse(slots[slot].value, key: slots[slot].key)
            slots[slot].envelope = parsed
            return parsed
        }

        /// A fresh ETag, never given before by this store.
        mutating func nextETag() -> ETag {
            version += 1
            return ETag("b\(String(version, radix: 36))")
        }

        /// Stores `value` under `key` as the most recently used entry, replacing the entry there.
        ///
        /// - Returns: The entry's slot.
        mutating func store(_ key: StoreKey, _ value: Data, etag: ETag, now: Date, creationDate: Date,
                            expirationDate: Date?) -> Int {
            if let slot = index[key] {
                byteCount += Self.cost(of: key, value) - Self.cost(of: key, slots[slot].value)
                slots[slot].value = value
                slots[slot].etag = etag
                slots[slot].modificationDate = now
                slots[slot].creationDate = creationDate
                slots[slot].expirationDate = expirationDate
                slots[slot].envelope = nil
                touch(slot)
                return slot
            }
            let entry = Slot(key: key, value: value, etag: etag, modificationDate: now, creationDate: creationDate,
                             expirationDate: expirationDate, older: -1, newer: -1)
            let slot: Int
            if let reused = freeSlots.popLast() {
                slot = reused
                slots[slot] = entry
            } else {
                slot = slots.count
                slots.append(entry)
            }
            index[key] = slot
            byteCount += Self.cost(of: key, value)
            order.inserted(key)
            pushNewest(slot)
            return slot
        }

        /// Removes the entry in `slot`.
        mutating func remove(_ slot: Int) {
            unlink(slot)
            let key = slots[slot].key
            byteCount -= Self.cost(of: key, slots[slot].value)
            index[key] = nil
            slots[slot].value = Data()
            slots[slot].envelope = nil
            freeSlots.append(slot)
            order.removed()
        }

        /// Removes least recently used entries until at most `maximumBytes` and `maximumEntries`
        /// are held, never the entry in `kept`.
        mutating func evict(toFit maximumBytes: Int, _ maximumEntries: Int, keeping kept: Int, now: Date) {
            while byteCount > maximumBytes || index.count > maximumEntries, oldest != -1, oldest != kept {
                if !slots[oldest].isExpired(at: now) { evictionCount += 1 }
                remove(oldest)
            }
        }

        /// Removes every entry expired at `now`, returning how many there were.
        mutating func removeExpired(now: Date) -> Int {
            let expired = index.values.filter { slots[$0].isExpired(at: now) }
            for slot in expired { remove(slot) }
            return expired.count
        }

        /// The keys in byte-wise order; after changes, only the new keys are sorted and merged in.
        mutating func keysInOrder() -> [StoreKey] {
            let index = self.index
            return order.keys { index[$0] != nil }
        }

        private mutating func unlink(_ slot: Int) {
            let older = slots[slot].older, newer = slots[slot].newer
            if older != -1 { slots[older].newer = newer } else { oldest = newer }
            if newer != -1 { slots[newer].older = older } else { newest = older }
            slots[slot].older = -1
            slots[slot].newer = -1
        }

        private mutating func pushNewest(_ slot: Int) {
            slots[slot].older = newest
            slots[slot].newer = -1
            if newest != -1 { slots[newest].newer = slot }
            newest = slot
            if oldest == -1 { oldest = slot }
        }
    }
}
