/// The unkeyed container for a JSON array.
struct FastJSONUnkeyedContainer: UnkeyedDecodingContainer {
    /// The decoder the container belongs to.
    private let decoder: FastJSONDecoding
    /// The decoder's document.
    private let document: FastJSONDocument
    /// The array's path.
    private let path: FastJSONCodingPath
    /// The number of elements.
    private let elementCount: Int
    /// The node of the element at ``currentIndex`` (past the array at the end).
    private var cursor: Int

    /// The index of the next element to decode.
    private(set) var currentIndex = 0

    /// A container for the array at `array`, whose path is `path`.
    init(decoder: FastJSONDecoding, array: Int, path: FastJSONCodingPath) {
        self.decoder = decoder
        document = decoder.document
        self.path = path
        elementCount = Int(document.nodes[array].length)
        cursor = array + 1
    }

    var codingPath: [any CodingKey] { path.keys }
    var count: Int? { elementCount }
    var isAtEnd: Bool { currentIndex >= elementCount }

    /// The path of the element at ``currentIndex``.
    private var elementPath: FastJSONCodingPath { .index(currentIndex, parent: path) }

    /// Moves to the next element.
    @inline(__always)
    private mutating func advance() {
        cursor = Int(document.nodes[cursor].next)
        currentIndex += 1
    }

    /// Reads the element at ``currentIndex`` with `read` and moves past it; stays put on errors.
    @inline(__always)
    private mutating func next<T>(_ read: (Int) throws -> T) throws -> T {
        guard currentIndex < elementCount else { throw document.reject("unkeyed container is at end") }
        let value = try read(cursor)
        advance()
        return value
    }

    /// Like ``next(_:)``, but a `null` element gives `nil`. Unlike Foundation, does not answer
    /// `nil` at the end, but rejects.
    @inline(__always)
    private mutating func nextIfPresent<T>(_ read: (Int) throws -> T) throws -> T? {
        guard currentIndex < elementCount else { throw document.reject("unkeyed container is at end") }
        if document.kind(at: cursor) == .null {
            advance()
            return nil
        }
        let value = try read(cursor)
        advance()
        return value
    }

    mutating func decodeNil() throws -> Bool {
        guard currentIndex < elementCount else { throw document.reject("unkeyed container is at end") }
        guard document.kind(at: cursor) == .null else { return false }
        advance()
        return true
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try next(document.bool) }
    mutating func decode(_ type: String.Type) throws -> String { try next(document.string) }
    mutating func decode(_ type: Double.Type) throws -> Double { try next(document.double) }
    mutating func decode(_ type: Float.Type) throws -> Float { try next(document.float) }
    mutating func decode(_ type: Int.Type) throws -> Int { try next(integer) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try next(integer) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try next(integer) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try next(integer) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try next(integer) }
    mutating func decode(_ type: Int128.Type) throws -> Int128 { try next(integer) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try next(integer) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try next(integer) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try next(integer) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try next(integer) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try next(integer) }
    mutating func decode(_ type: UInt128.Type) throws -> UInt128 { try next(integer) }

    /// The integer at `node`.
    @inline(__always)
    private func integer<T: FixedWidthInteger>(at node: Int) throws(FastJSONRejection) -> T {
        try document.integer(at: node, as: T.self)
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let path = elementPath, decoder = decoder
        return try next { node in try decoder.decodeValue(T.self, at: node, path: path) }
    }

    mutating func decodeIfPresent(_ type: Bool.Type) throws -> Bool? { try nextIfPresent(document.bool) }
    mutating func decodeIfPresent(_ type: String.Type) throws -> String? { try nextIfPresent(document.string) }
    mutating func decodeIfPresent(_ type: Double.Type) throws -> Double? { try nextIfPresent(document.double) }
    mutating func decodeIfPresent(_ type: Float.Type) throws -> Float? { try nextIfPresent(document.float) }
    mutating func decodeIfPresent(_ type: Int.Type) throws -> Int? { try nextIfPresent(integer) }
    mutating func decodeIfPresent(_ type: Int8.Type) throws -> Int8? { try nextIfPresent(integer) }
    mutating func decodeIfPresent(_ type: Int16.Type) throws -> Int16? { try nextIfPresent(integer) }
    mutating func decodeIfPresent(_ type: Int32.Type) throws -> Int32? { try nextIfPresent(integer) }
    mutating func decodeIfPresent(_ type: Int64.Type) throws -> Int64? { try nextIfPresent(integer) }
    mutating func decodeIfPresent(_ type: Int128.Type) throws -> Int128? { try nextIfPresent(integer) }
    mutating func decodeIfPresent(_ type: UInt.Type) throws -> UInt? { try nextIfPresent(integer) }
    mutating func decodeIfPresent(_ type: UInt8.Type) throws -> UInt8? { try nextIfPresent(integer) }
    mutating func decodeIfPresent(_ type: UInt16.Type) throws -> UInt16? { try nextIfPresent(integer) }
    mutating func decodeIfPresent(_ type: UInt32.Type) throws -> UInt32? { try nextIfPresent(integer) }
    mutating func decodeIfPresent(_ type: UInt64.Type) throws -> UInt64? { try nextIfPresent(integer) }
    mutating func decodeIfPresent(_ type: UInt128.Type) throws -> UInt128? { try nextIfPresent(integer) }

    mutating func decodeIfPresent<T: Decodable>(_ type: T.Type) throws -> T? {
        let path = elementPath, decoder = decoder
        return try nextIfPresent { node in try decoder.decodeValue(T.self, at: node, path: path) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let path = elementPath, decoder = decoder
        return try next { node in try decoder.keyedContainer(NestedKey.self, at: node, path: path) }
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let path = elementPath, decoder = decoder
        return try next { node in try decoder.unkeyedContainer(at: node, path: path) }
    }

    /// A decoder for the next element, as Foundation's.
    mutating func superDecoder() throws -> any Decoder {
        let path = elementPath, document = document
        return try next { node in FastJSONDecoding(document: document, node: node, path: path) }
    }
}
