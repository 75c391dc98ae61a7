import Foundation

/// One key on which two stores disagree, as ``KeyValueStore/compare(with:withPrefix:byContent:concurrency:chunkSize:)``
/// found it.
public struct StoreDifference: Hashable, Sendable {
    /// How the two stores disagree on a key.
    ///
    /// A struct rather than an enum, so that new kinds can be added without breaking code that
    /// switches over the existing ones.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case onlyInSource
            case onlyInDestination
            case differing
        }

        private let base: Base

        private init(_ base: Base) { self.base = base }

        /// The source holds the key and the destination does not.
        public static var onlyInSource: Self { Self(.onlyInSource) }
        /// The destination holds the key and the source does not.
        public static var onlyInDestination: Self { Self(.onlyInDestination) }
        /// Both hold the key, with values of different sizes or (when comparing by content)
        /// different bytes.
        public static var differing: Self { Self(.differing) }

        /// The kind's name, such as `onlyInSource`.
        public var description: String { base.rawValue }
    }

    /// The key.
    public var key: StoreKey
    /// How the stores disagree on it.
    public var kind: Kind
    /// The size of the source's value, or `nil` when the source does not hold the key.
    public var sourceSize: Int64?
    /// The size of the destination's value, or `nil` when the destination does not hold the key.
    public var destinationSize: Int64?

    /// Creates a difference.
    public init(key: StoreKey, kind: Kind, sourceSize: Int64?, destinationSize: Int64?) {
        self.key = key
        self.kind = kind
        self.sourceSize = sourceSize
        self.destinationSize = destinationSize
    }
}

/// What ``KeyValueStore/compare(with:withPrefix:byContent:concurrency:chunkSize:)`` found: the
/// keys on which two stores disagree, and how many they agree on.
public struct StoreComparison: Hashable, Sendable {
    /// Every key on which the stores disagree, in key order.
    public var differences: [StoreDifference] = []
    /// How many keys both stores hold with equal values (equal sizes, and equal bytes when
    /// comparing by content).
    public var matchingCount = 0
    /// How many keys the source holds under the prefix.
    public var sourceCount = 0
    /// The bytes of the source's values under the prefix, as listed.
    public var sourceBytes: Int64 = 0
    /// How many keys the destination holds under the prefix.
    public var destinationCount = 0
    /// The bytes read from each store to compare values by content (zero without it).
    public var contentBytesCompared: Int64 = 0

    /// Creates an empty comparison.
    public init() {}

    /// Whether the stores hold the same keys with equal values.
    public var isIdentical: Bool { differences.isEmpty }

    /// The keys only the source holds, in key order.
    public var onlyInSource: [StoreKey] { keys(of: .onlyInSource) }
    /// The keys only the destination holds, in key order.
    public var onlyInDestination: [StoreKey] { keys(of: .onlyInDestination) }
    /// The keys both hold with different values, in key order.
    public var differing: [StoreKey] { keys(of: .differing) }

    private func keys(of kind: StoreDifference.Kind) -> [StoreKey] {
        differences.filter { $0.kind == kind }.map(\.key)
    }
}

extension KeyValueStore {
    /// Compares the entries under `prefix` in this store (the source) with those in
    /// `destination`: the keys only one of them holds, and the keys both hold with different
    /// values.
    ///
    ///     let comparison = try await sqlite.compare(with: backup, withPrefix: "users/", byContent: true)
    ///     for key in comparison.differing { print("changed:", key) }
    ///
    /// Both stores are listed with metadata, in key order, and the two listings are walked side
    /// by side as a merge, a page at a time: only the differences are kept, never every key.
    /// Two values differ when their sizes differ; with `byContent`, values of equal size are
    /// also read, `concurrency` keys at a time, streaming both values in chunks and comparing
    /// their bytes (nothing is held whole). ETags are not compared: each store makes its own
    /// (a file's, a row's version, S3's content hash), so equal values have different ETags in
    /// different stores. Modification times are not compared either, since a copy is written
    /// later than its original. Expiry dates are not compared.
    ///
    /// The comparison is not a snapshot: entries written meanwhile may or may not be seen. A
    /// key that disappears from a store between listing and reading counts as missing there.
    ///
    /// - Parameters:
    ///   - destination: The store to compare with.
    ///   - prefix: The bytes keys must start with. Defaults to `""`, every key.
    ///   - byContent: Whether values of equal size are read and compared byte by byte.
    ///     Defaults to `false`: sizes alone decide.
    ///   - concurrency: How many values are compared at once when comparing by content.
    ///     Defaults to 8.
    ///   - chunkSize: The size of the chunks values stream in. Defaults to 1 MiB.
    /// - Returns: The differences in key order, with counts.
    /// - Throws: The first ``StoreError`` of either store, naming the key;
    ///   ``StoreError/Code/invalidArgument`` when `prefix` cannot be a listing prefix.
    public func compare(
        with destination: some KeyValueStore,
        withPrefix prefix: String = "",
        byContent: Bool = false,
        concurrency: Int = 8,
        chunkSize: Int = 1 << 20
    ) async throws -> StoreComparison {
        let query = try ListQuery(prefix: prefix, includesMetadata: true)
        let width = max(1, concurrency)
        var comparison = try await withThrowingTaskGroup(of: ContentVerdict.self) { group in
            var comparison = StoreComparison()
            var inFlight = 0
            try await walk(query, beside: destination) { step in
                switch step {
                case .onlyInSource(let source):
                    comparison.sourceCount += 1
                    comparison.sourceBytes += source.size
                    comparison.differences.append(StoreDifference(
                        key: source.key, kind: .onlyInSource, sourceSize: source.size, destinationSize: nil))
                case .onlyInDestination(let target):
                    comparison.destinationCount += 1
                    comparison.differences.append(StoreDifference(
                        key: target.key, kind: .onlyInDestination, sourceSize: nil, destinationSize: target.size))
                case .inBoth(let source, let target):
                    comparison.sourceCount += 1
                    comparison.destinationCount += 1
                    comparison.sourceBytes += source.size
                    if source.size != target.size {
                        comparison.differences.append(StoreDifference(
                            key: source.key, kind: .differing, sourceSize: source.size, destinationSize: target.size))
                    } else if byContent {
                        if inFlight == width, let verdict = try await group.next() {
                            comparison.add(verdict)
                            inFlight -= 1
                        }
                        let key = source.key
                        group.addTask { try await compareContent(of: key, with: destination, chunkSize: chunkSize) }
                        inFlight += 1
                    } else {
                        comparison.matchingCount += 1
                    }
                }
            }
            while let verdict = try await group.next() { comparison.add(verdict) }
            return comparison
        }
        comparison.differences.sort { $0.key < $1.key }
        return comparison
    }

    /// Reads the values under `key` in this store and in `destination` side by side and tells
    /// whether their bytes are equal.
    func compareContent(
        of key: StoreKey, with destination: some KeyValueStore, chunkSize: Int
    ) async throws -> ContentVerdict {
        try await withReadStream(key, chunkSize: chunkSize) { source in
            try await destination.withReadStream(key, chunkSize: chunkSize) { target in
                switch (source, target) {
                case (nil, nil):
                    return ContentVerdict(key: key, outcome: .vanished, bytesRead: 0)
                case (let source?, nil):
                    return ContentVerdict(key: key, outcome: .difference(StoreDifference(
                        key: key, kind: .onlyInSource, sourceSize: source.metadata.size, destinationSize: nil)), bytesRead: 0)
                case (nil, let target?):
                    return ContentVerdict(key: key, outcome: .difference(StoreDifference(
                        key: key, kind: .onlyInDestination, sourceSize: nil, destinationSize: target.metadata.size)), bytesRead: 0)
                case (let source?, let target?):
                    let difference = StoreDifference(key: key, kind: .differing,
                                                     sourceSize: source.metadata.size, destinationSize: target.metadata.size)
                    guard source.metadata.size == target.metadata.size else {
                        return ContentVerdict(key: key, outcome: .difference(difference), bytesRead: 0)
                    }
                    let (equal, bytesRead) = try await Self.bytesAreEqual(source.chunks, target.chunks)
                    return ContentVerdict(key: key, outcome: equal ? .matching : .difference(difference), bytesRead: bytesRead)
                }
            }
        }
    }

    /// Whether two chunk sequences hold the same bytes, however each is cut into chunks, and
    /// how many bytes were read from the first; stops at the first difference.
    static func bytesAreEqual(_ left: ValueChunks, _ right: ValueChunks) async throws -> (Bool, Int64) {
        var leftChunks = left.makeAsyncIterator()
        var rightChunks = right.makeAsyncIterator()
        var leftBuffer = Data(), rightBuffer = Data()
        var leftDone = false, rightDone = false
        var bytesRead: Int64 = 0
        while true {
            while leftBuffer.isEmpty, !leftDone {
                if let chunk = try await leftChunks.next() {
                    leftBuffer = chunk
                    bytesRead += Int64(chunk.count)
                } else {
                    leftDone = true
                }
            }
            while rightBuffer.isEmpty, !rightDone {
                if let chunk = try await rightChunks.next() { rightBuffer = chunk } else { rightDone = true }
            }
            if leftBuffer.isEmpty || rightBuffer.isEmpty {
                return (leftBuffer.isEmpty && rightBuffer.isEmpty, bytesRead)
            }
            let common = min(leftBuffer.count, rightBuffer.count)
            guard leftBuffer.prefix(common) == rightBuffer.prefix(common) else { return (false, bytesRead) }
            leftBuffer = Data(leftBuffer.dropFirst(common))
            rightBuffer = Data(rightBuffer.dropFirst(common))
        }
    }

    /// Walks two listings with metadata side by side in key order, calling `body` once per key
    /// with what each side holds.
    func walk(
        _ query: ListQuery, beside destination: some KeyValueStore, _ body: (MergeStep) async throws -> Void
    ) async throws {
        var sourceElements = list(query, pageSize: 1000).makeAsyncIterator()
        var destinationElements = destination.list(query, pageSize: 1000).makeAsyncIterator()
        let sourceName = description, destinationName = destination.description
        // A key listed out of order would be taken for one the other side lacks (and deleted
        // by a synchronization), so the order is checked, not trusted.
        func nextEntry(
            _ elements: inout StoreListing.AsyncIterator, after previous: EntryMetadata?, _ store: String
        ) async throws -> EntryMetadata? {
            while let element = try await elements.next() {
                guard let key = element.key else { continue }
                guard let metadata = element.metadata else {
                    throw StoreError(.integrity, operation: .compare, key: key, store: store,
                                     message: "the store listed the key without the metadata that was asked for")
                }
                if let previous, !(previous.key < key) {
                    throw StoreError(.integrity, operation: .compare, key: key, store: store,
                                     message: "the store listed the key after '\(previous.key.escapedDescription)', out of key order; nothing more was compared")
                }
                return metadata
            }
            return nil
        }
        var left = try await nextEntry(&sourceElements, after: nil, sourceName)
        var right = try await nextEntry(&destinationElements, after: nil, destinationName)
        while true {
            switch (left, right) {
            case (nil, nil):
                return
            case (let source?, nil):
                try await body(.onlyInSource(source))
                left = try await nextEntry(&sourceElements, after: left, sourceName)
            case (nil, let target?):
                try await body(.onlyInDestination(target))
                right = try await nextEntry(&destinationElements, after: right, destinationName)
            case (let source?, let target?):
                if source.key < target.key {
                    try await body(.onlyInSource(source))
                    left = try await nextEntry(&sourceElements, after: left, sourceName)
                } else if target.key < source.key {
                    try await body(.onlyInDestination(target))
                    right = try await nextEntry(&destinationElements, after: right, destinationName)
                } else {
                    try await body(.inBoth(source, target))
                    left = try await nextEntry(&sourceElements, after: left, sourceName)
                    right = try await nextEntry(&destinationElements, after: right, destinationName)
                }
            }
        }
    }
}

/// What a side-by-side walk of two listings found for one key.
enum MergeStep {
    case onlyInSource(EntryMetadata)
    case onlyInDestination(EntryMetadata)
    case inBoth(EntryMetadata, EntryMetadata)
}

/// What reading one key's two values found.
struct ContentVerdict: Sendable {
    enum Outcome: Sendable {
        /// Equal bytes.
        case matching
        /// A difference, possibly that one side no longer holds the key.
        case difference(StoreDifference)
        /// Neither side holds the key any more.
        case vanished
    }

    var key: StoreKey
    var outcome: Outcome
    var bytesRead: Int64
}

extension StoreComparison {
    fileprivate mutating func add(_ verdict: ContentVerdict) {
        contentBytesCompared += verdict.bytesRead
        switch verdict.outcome {
        case .matching: matchingCount += 1
        case .difference(let difference): differences.append(difference)
        case .vanished: break
        }
    }
}
