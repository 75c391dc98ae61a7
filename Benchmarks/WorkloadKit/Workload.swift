public import Foundation
public import Trove

/// One benchmark workload: a number of keys, one value size, and the phases run over them.
///
/// The key names, the value bytes and the seeded read order are the same in every tool that
/// runs a workload (the ordo-one suite, `TroveWorkloads` and `compare.py`), so that their
/// numbers compare:
///
/// - key `i` is `key-` followed by `i` in seven zero-padded digits (`key-0000042`);
/// - byte `i` of every value is `(7 * i + 13) % 251`;
/// - the get phase reads the keys in a Fisher–Yates shuffle driven by ``SplitMix64`` seeded
///   with ``seed``.
public struct Workload: Sendable {
    /// What a phase does to every key of the workload.
    public enum Phase: String, Sendable, CaseIterable {
        /// Writes every key into an empty store.
        case put
        /// Reads every key, in the seeded random order.
        case get
        /// Lists every key.
        case list
        /// Deletes every key.
        case delete
    }

    /// `W1` or `W2`.
    public let name: String
    /// How many keys the workload writes.
    public let keyCount: Int
    /// The size of every value, in bytes.
    public let valueByteCount: Int
    /// The phases measured, in the order they run.
    public let phases: [Phase]
    /// The seed of the get phase's order.
    public let seed: UInt64

    /// The key names, in key order.
    public let keyNames: [String]
    /// The keys as Trove keys, in key order (validated once, outside any measurement).
    public let keys: [StoreKey]
    /// Indices into ``keys`` in the order the get phase reads them.
    public let readOrder: [Int]
    /// The value written under every key.
    public let value: [UInt8]
    /// ``value`` as `Data`, for Trove.
    public let valueData: Data

    /// Creates a workload of `keyCount` keys of `valueByteCount` bytes each, named
    /// `keyPrefix` followed by `key-0000042` and so on.
    public init(name: String, keyCount: Int, valueByteCount: Int, phases: [Phase], seed: UInt64 = 42,
                keyPrefix: String = "") {
        precondition(keyCount > 0 && keyCount <= 10_000_000, "a workload has 1 to 10,000,000 keys")
        precondition(valueByteCount >= 0, "a value has a size of at least 0 bytes")
        self.name = name
        self.keyCount = keyCount
        self.valueByteCount = valueByteCount
        self.phases = phases
        self.seed = seed
        let names = (0..<keyCount).map { keyPrefix + Workload.keyName($0) }
        self.keyNames = names
        self.keys = names.map { StoreKey(stringLiteral: $0) }
        var generator = SplitMix64(seed: seed)
        self.readOrder = generator.shuffled(Array(0..<keyCount))
        let bytes = (0..<valueByteCount).map { UInt8((7 * $0 + 13) % 251) }
        self.value = bytes
        self.valueData = Data(bytes)
    }

    /// The name of key `index`: `key-0000042`.
    public static func keyName(_ index: Int) -> String {
        let digits = String(index)
        return "key-" + String(repeating: "0", count: max(0, 7 - digits.count)) + digits
    }

    /// The same workload with every key under `prefix` (such as `app/`), for comparing a store
    /// against a namespace layer that adds the prefix itself.
    public func keyed(under prefix: String) -> Workload {
        Workload(name: name, keyCount: keyCount, valueByteCount: valueByteCount, phases: phases, seed: seed,
                 keyPrefix: prefix)
    }

    /// The value size as people write it: `100 B`, `100 KiB`.
    public var valueSizeDescription: String {
        if valueByteCount >= 1 << 20, valueByteCount % (1 << 20) == 0 { return "\(valueByteCount >> 20) MiB" }
        if valueByteCount >= 1 << 10, valueByteCount % (1 << 10) == 0 { return "\(valueByteCount >> 10) KiB" }
        return "\(valueByteCount) B"
    }

    /// `W1: 10000 keys x 100 B`.
    public var summary: String { "\(name): \(keyCount) keys x \(valueSizeDescription)" }
}

extension Workload {
    /// W1: many small values. 10,000 keys of 100 B: put, get, list, delete.
    ///
    /// `TROVE_W1_KEYS` and `TROVE_W1_VALUE_BYTES` override the sizes.
    public static func w1(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Workload {
        Workload(name: "W1",
                 keyCount: try size("TROVE_W1_KEYS", in: environment, default: 10_000),
                 valueByteCount: try size("TROVE_W1_VALUE_BYTES", in: environment, default: 100),
                 phases: [.put, .get, .list, .delete])
    }

    /// W2: fewer, larger values. 1,000 keys of 100 KiB: put, get.
    ///
    /// `TROVE_W2_KEYS` and `TROVE_W2_VALUE_BYTES` override the sizes.
    public static func w2(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Workload {
        Workload(name: "W2",
                 keyCount: try size("TROVE_W2_KEYS", in: environment, default: 1_000),
                 valueByteCount: try size("TROVE_W2_VALUE_BYTES", in: environment, default: 100 * 1024),
                 phases: [.put, .get])
    }

    /// The positive integer in `variable`, or `fallback` when it is unset or empty.
    static func size(_ variable: String, in environment: [String: String], default fallback: Int) throws -> Int {
        guard let text = environment[variable], !text.isEmpty else { return fallback }
        guard let value = Int(text), value > 0, value <= 10_000_000 else {
            throw WorkloadError("\(variable) must be a whole number from 1 to 10000000, not '\(text)'")
        }
        return value
    }
}
