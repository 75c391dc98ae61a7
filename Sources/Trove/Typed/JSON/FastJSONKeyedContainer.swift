/// The keyed container for a JSON object.
///
/// Looks keys up like Foundation's dictionary of keys: with Swift string equality, the first of
/// duplicate keys winning. Small objects are searched linearly, comparing the key's UTF-8 with
/// the raw text (no strings made); large ones get a dictionary of their keys once.
struct FastJSONKeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    /// Objects with more members than this get an index of their keys.
    private static var linearSearchLimit: Int { 16 }

    /// The decoder the container belongs to.
    private let decoder: FastJSONDecoding
    /// The decoder's document.
    private let document: FastJSONDocument
    /// The object's node.
    private let object: Int
    /// The object's path.
    private let path: FastJSONCodingPath
    /// The object's keys, for large objects only.
    private let table: FastJSONMemberTable?

    /// A container for the object at `object`, whose path is `path`.
    init(decoder: FastJSONDecoding, object: Int, path: FastJSONCodingPath) {
        self.decoder = decoder
        document = decoder.document
        self.object = object
        self.path = path
        table = document.nodes[object].length > Self.linearSearchLimit
            ? FastJSONMemberTable(object: object, in: document)
            : nil
    }

    var codingPath: [any CodingKey] { path.keys }

    /// The object's keys that `Key` accepts, each once, in the order of the text (Foundation's
    /// order is that of a dictionary, which is unspecified).
    var allKeys: [Key] {
        var keys: [Key] = []
        var integers = Set<Int>()
        /// Appends the key for `name`, if `Key` has one.
        func add(_ name: String) {
            guard let key = Key(stringValue: name) else { return }
            // Two keys such as "1" and "01" with one integer value make the result of decoding
            // an integer-keyed dictionary depend on the order of the keys; let Foundation decide.
            if let integer = key.intValue, !integers.insert(integer).inserted {
                document.markRejected()
            }
            keys.append(key)
        }
        if let table {
            table.names.forEach(add)
            return keys
        }
        var seen = Set<String>()
        var member = object + 1
        for _ in 0..<document.nodes[object].length {
            let name = document.unescapedString(document.nodes[member])
            member = Int(document.nodes[member + 1].next)
            if seen.insert(name).inserted { add(name) }
        }
        return keys
    }

    func contains(_ key: Key) -> Bool {
        valueNode(for: key) != nil
    }

    /// The node of the value for `key`, or `nil` when the object does not have the key.
    private func valueNode(for key: some CodingKey) -> Int? {
        var name = key.stringValue
        if let table { return table.valueNode(for: name) }
        let target = name
        let nodes = document.nodes
        return name.withUTF8 { nameUTF8 -> Int? in
            var nameIsASCII = true
            for byte in nameUTF8 where byte >= 0x80 {
                nameIsASCII = false
                break
            }
            var member = object + 1
            for _ in 0..<nodes[object].length {
                if document.key(nodes[member], equals: target, nameUTF8: nameUTF8, nameIsASCII: nameIsASCII) {
                    return member + 1
                }
                member = Int(nodes[member + 1].next)
            }
            return nil
        }
    }

    /// The node of the value for `key`.
    ///
    /// - Throws: ``FastJSONRejection`` when the object does not have the key.
    @inline(__always)
    private func require(_ key: Key) throws(FastJSONRejection) -> Int {
        guard let node = valueNode(for: key) else { throw document.reject("key not found") }
        return node
    }

    /// The node of the value for `key`, or `nil` when the key is missing or the value is `null`.
    @inline(__always)
    private func presentValueNode(for key: Key) -> Int? {
        guard let node = valueNode(for: key), document.kind(at: node) != .null else { return nil }
        return node
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        document.kind(at: try require(key)) == .null
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try document.bool(at: require(key)) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try document.string(at: require(key)) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try document.double(at: require(key)) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try document.float(at: require(key)) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try integer(forKey: key) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try integer(forKey: key) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try integer(forKey: key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try integer(forKey: key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try integer(forKey: key) }
    func decode(_ type: Int128.Type, forKey key: Key) throws -> Int128 { try integer(forKey: key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try integer(forKey: key) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try integer(forKey: key) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try integer(forKey: key) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try integer(forKey: key) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try integer(forKey: key) }
    func decode(_ type: UInt128.Type, forKey key: Key) throws -> UInt128 { try integer(forKey: key) }

    /// The integer for `key`.
    @inline(__always)
    private func integer<T: FixedWidthInteger>(forKey key: Key) throws(FastJSONRejection) -> T {
        try document.integer(at: require(key), as: T.self)
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try decoder.decodeValue(T.self, at: require(key), path: .key(key, parent: path))
    }

    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? {
        try presentValueNode(for: key).map { node throws(FastJSONRejection) in try document.bool(at: node) }
    }

    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? {
        try presentValueNode(for: key).map { node throws(FastJSONRejection) in try document.string(at: node) }
    }

    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? {
        try presentValueNode(for: key).map { node throws(FastJSONRejection) in try document.double(at: node) }
    }

    func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? {
        try presentValueNode(for: key).map { node throws(FastJSONRejection) in try document.float(at: node) }
    }

    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try integerIfPresent(forKey: key) }
    func decodeIfPresent(_ type: Int8.Type, forKey key: Key) throws -> Int8? { try integerIfPresent(forKey: key) }
    func decodeIfPresent(_ type: Int16.Type, forKey key: Key) throws -> Int16? { try integerIfPresent(forKey: key) }
    func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? { try integerIfPresent(forKey: key) }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? { try integerIfPresent(forKey: key) }
    func decodeIfPresent(_ type: Int128.Type, forKey key: Key) throws -> Int128? { try integerIfPresent(forKey: key) }
    func decodeIfPresent(_ type: UInt.Type, forKey key: Key) throws -> UInt? { try integerIfPresent(forKey: key) }
    func decodeIfPresent(_ type: UInt8.Type, forKey key: Key) throws -> UInt8? { try integerIfPresent(forKey: key) }
    func decodeIfPresent(_ type: UInt16.Type, forKey key: Key) throws -> UInt16? { try integerIfPresent(forKey: key) }
    func decodeIfPresent(_ type: UInt32.Type, forKey key: Key) throws -> UInt32? { try integerIfPresent(forKey: key) }
    func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? { try integerIfPresent(forKey: key) }
    func decodeIfPresent(_ type: UInt128.Type, forKey key: Key) throws -> UInt128? { try integerIfPresent(forKey: key) }

    /// The integer for `key`, or `nil` when the key is missing or the value is `null`.
    @inline(__always)
    private func integerIfPresent<T: FixedWidthInteger>(forKey key: Key) throws(FastJSONRejection) -> T? {
        try presentValueNode(for: key).map { node throws(FastJSONRejection) in try document.integer(at: node, as: T.self) }
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let node = presentValueNode(for: key) else { return nil }
        return try decoder.decodeValue(T.self, at: node, path: .key(key, parent: path))
    }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type, forKey key: Key
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try decoder.keyedContainer(NestedKey.self, at: require(key), path: .key(key, parent: path))
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try decoder.unkeyedContainer(at: require(key), path: .key(key, parent: path))
    }

    /// A decoder for the value under `super` (a `null` one when there is none), as Foundation's.
    func superDecoder() throws -> any Decoder {
        FastJSONDecoding(
            document: document, node: valueNode(for: FastJSONKey.superKey) ?? document.nullNode,
            path: .key(FastJSONKey.superKey, parent: path)
        )
    }

    /// A decoder for the value under `key` (a `null` one when there is none), as Foundation's.
    func superDecoder(forKey key: Key) throws -> any Decoder {
        FastJSONDecoding(
            document: document, node: valueNode(for: key) ?? document.nullNode, path: .key(key, parent: path)
        )
    }
}

/// The distinct keys of a large object, for lookups without a linear search.
///
/// Keys are compared with Swift string equality and the first of duplicates wins, as in
/// Foundation's dictionary of keys. Lookups usually come in the order of ``names`` (a
/// dictionary's `init(from:)` asks for each of `allKeys` in turn), so each first tries the key
/// after the previous match before hashing.
final class FastJSONMemberTable {
    /// The distinct keys in the order of the text.
    let names: [String]
    /// The value node of each of ``names``.
    private let valueNodes: [Int]
    /// The position in ``names`` of each key.
    private let positions: [String: Int]
    /// The position after the previous match.
    private var cursor = 0

    /// The table of the object at `object` in `document`.
    init(object: Int, in document: FastJSONDocument) {
        let members = Int(document.nodes[object].length)
        var names: [String] = []
        var valueNodes: [Int] = []
        var positions: [String: Int] = [:]
        names.reserveCapacity(members)
        valueNodes.reserveCapacity(members)
        positions.reserveCapacity(members)
        var member = object + 1
        for _ in 0..<members {
            let name = document.unescapedString(document.nodes[member])
            if positions[name] == nil {
                positions[name] = names.count
                names.append(name)
                valueNodes.append(member + 1)
            }
            member = Int(document.nodes[member + 1].next)
        }
        self.names = names
        self.valueNodes = valueNodes
        self.positions = positions
    }

    /// The value node for the key `name`, or `nil` when the object does not have it.
    func valueNode(for name: String) -> Int? {
        if cursor < names.count, names[cursor] == name {
            cursor += 1
            return valueNodes[cursor - 1]
        }
        guard let position = positions[name] else { return nil }
        cursor = position + 1
        return valueNodes[position]
    }
}
