/// The phases of a workload run over the raw loop; each checks what it did, so a broken
/// engine fails instead of looking fast.
public enum RawPhases {
    /// Writes every key of `workload`.
    public static func put(_ workload: Workload, into directory: RawDirectory) throws {
        try workload.value.withUnsafeBytes { bytes in
            for name in workload.keyNames { try directory.put(name, bytes) }
        }
    }

    /// Reads every key in the workload's read order; returns the bytes read.
    @discardableResult
    public static func get(_ workload: Workload, from directory: RawDirectory) throws -> Int {
        var total = 0
        for index in workload.readOrder {
            guard let bytes = try directory.get(workload.keyNames[index]) else {
                throw WorkloadError("raw get: \(workload.keyNames[index]) is missing")
            }
            total += bytes.count
        }
        try check(total, equals: workload.keyCount * workload.valueByteCount, "raw get: bytes read")
        return total
    }

    /// Lists every key; returns how many there were.
    @discardableResult
    public static func list(_ workload: Workload, in directory: RawDirectory) throws -> Int {
        let count = try directory.list().count
        try check(count, equals: workload.keyCount, "raw list: names listed")
        return count
    }

    /// Deletes every key.
    public static func delete(_ workload: Workload, from directory: RawDirectory) throws {
        for name in workload.keyNames {
            guard try directory.delete(name) else { throw WorkloadError("raw delete: \(name) was missing") }
        }
    }
}
