// Fuzzes StoreKey(validating:) against a model of the key rules written from their
// documentation, and checks what a valid key promises: its bytes, segments, parent, order.
//
// Input: one or two strings separated by a 0xFF byte (invalid UTF-8 repaired).
import FuzzSupport
@testable import Trove

/// The documented rules, checked on their own: 1 to 1,024 UTF-8 bytes, no control character
/// (category Cc), no empty, `.` or `..` segment.
func modelAccepts(_ text: String) -> Bool {
    let utf8 = Array(text.utf8)
    guard !utf8.isEmpty, utf8.count <= 1024 else { return false }
    guard !hasControl(text) else { return false }
    for segment in utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
        if segment.isEmpty || segment.elementsEqual([0x2E]) || segment.elementsEqual([0x2E, 0x2E]) { return false }
    }
    return true
}

/// Validates `text` and checks the result against the model; returns the key if valid.
func check(_ text: String) -> StoreKey? {
    let expected = modelAccepts(text)
    let key: StoreKey
    do {
        key = try StoreKey(validating: text)
    } catch {
        require(!expected, "a valid key was rejected: \(hex(text.utf8)) (\(error.message))")
        require(error.code == .invalidKey, "rejected with code \(error.code), not invalidKey: \(hex(text.utf8))")
        require(!hasControl(error.message), "the error message holds a raw control character: \(hex(error.message.utf8))")
        return nil
    }
    require(expected, "an invalid key was accepted: \(hex(text.utf8))")
    let raw = Array(key.rawValue.utf8)
    require(raw == Array(text.utf8), "rawValue changed the bytes: \(hex(text.utf8)) -> \(hex(raw))")
    require(key.byteCount == raw.count && key.byteCount <= StoreKey.maximumByteCount, "byteCount \(key.byteCount)")
    require(key.description == key.rawValue, "description differs from rawValue")
    // Round trip: the raw value validates again to an equal key, with the same hash.
    let again = try? StoreKey(validating: key.rawValue)
    require(again == key, "rawValue does not round-trip: \(hex(raw))")
    require(again?.hashValue == key.hashValue, "equal keys hash differently: \(hex(raw))")
    require(!(key < key), "a key is less than itself")
    // Segments: non-empty, not '.' or '..', no '/', no control character; joined, the key.
    let segments = key.segments
    require(!segments.isEmpty, "no segments")
    for segment in segments {
        let bytes = Array(segment.utf8)
        require(!bytes.isEmpty && bytes != [0x2E] && bytes != [0x2E, 0x2E] && !bytes.contains(0x2F) && !hasControl(segment),
                "bad segment \(hex(segment.utf8)) in \(hex(raw))")
    }
    require(Array(segments.joined(separator: "/").utf8) == raw, "segments do not join back to the key")
    require(Array(key.lastSegment.utf8) == Array(segments[segments.count - 1].utf8), "lastSegment is not the last segment")
    if segments.count == 1 {
        require(key.parent == nil, "a one-segment key has a parent")
    } else {
        let parent = key.parent
        let expectedParent = Array(segments.dropLast().joined(separator: "/").utf8)
        require(parent.map { Array($0.rawValue.utf8) } == expectedParent, "wrong parent of \(hex(raw))")
        require(parent.flatMap { try? StoreKey(validating: $0.rawValue) } != nil, "the parent of \(hex(raw)) is not a valid key")
    }
    require(key.hasPrefix("") && key.hasPrefix(key.rawValue), "a key lacks its own prefix")
    return key
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let input = parts(bytes(start, count), limit: 2)
    let texts = input.map(string)
    let keys = texts.map(check)
    if keys.count == 2, let first = keys[0], let second = keys[1] {
        let a = Array(first.rawValue.utf8), b = Array(second.rawValue.utf8)
        // Order and equality are those of the UTF-8 bytes, never of Unicode equivalence.
        require((first == second) == (a == b), "== is not byte equality: \(hex(a)) vs \(hex(b))")
        require((first < second) == a.lexicographicallyPrecedes(b), "< is not byte order: \(hex(a)) vs \(hex(b))")
        require(first.hasPrefix(second.rawValue) == a.starts(with: b), "hasPrefix is not a byte prefix")
        // Appending: valid exactly when the joined key is short enough, and then the joined bytes.
        let joined = a + [UInt8(ascii: "/")] + b
        do {
            let appended = try first.appending(second)
            require(joined.count <= StoreKey.maximumByteCount, "appending made a key of \(joined.count) bytes")
            require(Array(appended.rawValue.utf8) == joined, "appending gave other bytes")
            require(Array(appended.lastSegment.utf8) == Array(second.lastSegment.utf8), "the appended key's last segment")
            require(appended.segments.count == first.segments.count + second.segments.count, "the appended key's segments")
            if second.segments.count == 1 { require(appended.parent == first, "the appended key's parent") }
        } catch {
            require(joined.count > StoreKey.maximumByteCount, "appending refused a key of \(joined.count) bytes")
            require(error.code == .invalidKey, "appending failed with \(error.code)")
        }
    }
    return 0
}
