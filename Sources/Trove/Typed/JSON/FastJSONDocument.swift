/// Why the fast JSON decoder gave up on a text.
///
/// The fast decoder handles only what it is sure to decode exactly like Foundation's
/// `JSONDecoder`; everything else is a rejection, after which ``JSONCodec`` decodes the same bytes
/// with Foundation. The reason is for tests and debugging only.
struct FastJSONRejection: Error, CustomStringConvertible {
    /// What the fast decoder did not handle.
    let reason: StaticString

    var description: String { "fast JSON decoder: \(reason)" }
}

/// One value in a parsed JSON text: a scalar, or the head of an array or object whose contents
/// follow it in ``FastJSONDocument/nodes``.
///
/// An object's members are laid out as key node, value node (with everything inside the value),
/// key node, value node, and so on; an array's elements one after another.
struct FastJSONNode {
    /// What kind of JSON value a node is.
    enum Kind: UInt8 {
        case null, `false`, `true`, number, string, array, object
    }

    /// For a string: it contains backslash escapes.
    static let escaped: UInt8 = 1
    /// For a string: it contains bytes outside ASCII (valid UTF-8, checked while parsing).
    static let nonASCII: UInt8 = 2
    /// For a number: it has neither a fraction nor an exponent.
    static let integer: UInt8 = 4

    /// The kind of value.
    var kind: Kind
    /// ``escaped``, ``nonASCII`` or ``integer``.
    var flags: UInt8
    /// For strings, the byte offset just after the opening quote; for numbers, of the first byte.
    var offset: UInt32
    /// For strings and numbers, the length of the text in bytes (without quotes); for arrays the
    /// number of elements, for objects the number of members.
    var length: UInt32
    /// The index of the node after this value and everything inside it.
    var next: UInt32
}

/// A parsed JSON text: a copy of its bytes and a flat array of ``FastJSONNode``s, the root first.
///
/// Strings and numbers stay as text until a value of a given type is asked for. The document owns
/// its copy of the bytes, so decoders and containers that escape a user's `init(from:)` stay valid.
final class FastJSONDocument {
    /// The text, owned by the document (one extra byte, so that the buffer is never empty).
    let bytes: UnsafeMutableRawBufferPointer
    /// The values, in document order; index 0 is the root, the last one is ``nullNode``.
    let nodes: [FastJSONNode]
    /// A `null` node that is not part of the text, for `superDecoder(forKey:)` of a missing key.
    let nullNode: Int
    /// Whether the fast decoder threw or did something it cannot vouch for while decoding this
    /// document; the result is then discarded even if the user's code caught the error.
    private(set) var isRejected = false

    /// Parses `text`, which must be strict RFC 8259 JSON in UTF-8.
    ///
    /// - Throws: ``FastJSONRejection`` for anything else, including texts Foundation would accept.
    init(parsing text: UnsafeRawBufferPointer) throws(FastJSONRejection) {
        guard text.count < Int(UInt32.max) - 1 else { throw FastJSONRejection(reason: "text too long") }
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: text.count + 1, alignment: 1)
        copy.copyMemory(from: text)
        copy[text.count] = 0
        var parser = FastJSONParser(bytes: UnsafeRawBufferPointer(rebasing: copy[..<text.count]))
        do {
            try parser.parseDocument()
        } catch {
            copy.deallocate()
            throw error
        }
        parser.nodes.append(FastJSONNode(kind: .null, flags: 0, offset: 0, length: 0, next: UInt32(parser.nodes.count + 1)))
        bytes = copy
        nullNode = parser.nodes.count - 1
        nodes = parser.nodes
    }

    deinit {
        bytes.deallocate()
    }

    /// Marks the document as rejected and returns the error to throw.
    func reject(_ reason: StaticString) -> FastJSONRejection {
        isRejected = true
        return FastJSONRejection(reason: reason)
    }

    /// Marks the document as rejected without throwing, for answers that might differ from
    /// Foundation's in a way the caller cannot see.
    func markRejected() {
        isRejected = true
    }

    /// The kind of the value at `node`.
    @inline(__always)
    func kind(at node: Int) -> FastJSONNode.Kind {
        nodes[node].kind
    }
}
