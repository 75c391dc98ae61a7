import Foundation
import Trove

/// The fixed geometry of a segmented envelope: a header, then the value cut into segments of
/// ``segmentSize`` bytes (the last one shorter, possibly empty), each followed by a tag.
///
/// Because every size is fixed, a value's size follows from its stored size alone, so
/// `metadata(for:)` and listings report it without reading the value.
struct EnvelopeLayout: Sendable, Equatable {
    /// The bytes before the first segment.
    let headerSize: Int
    /// The bytes of authentication tag after each segment.
    let tagSize: Int

    /// The bytes of value in every segment but the last: 64 KiB.
    static let segmentSize = 65_536

    /// A full segment with its tag, as stored.
    var sealedSegmentSize: Int { Self.segmentSize + tagSize }

    /// The number of segments a value of `plaintextSize` bytes is cut into (one, empty, for an
    /// empty value).
    static func segmentCount(plaintextSize: Int64) -> Int64 {
        Swift.max(1, (plaintextSize + Int64(segmentSize) - 1) / Int64(segmentSize))
    }

    /// The stored size of a value of `plaintextSize` bytes.
    func storedSize(plaintextSize: Int64) -> Int64 {
        Int64(headerSize) + plaintextSize + Self.segmentCount(plaintextSize: plaintextSize) * Int64(tagSize)
    }

    /// The size of the value whose envelope is `storedSize` bytes long, or `nil` when no value's
    /// envelope has that length (too short, or a last segment that cannot exist).
    func plaintextSize(storedSize: Int64) -> Int64? {
        let body = storedSize - Int64(headerSize)
        guard body >= Int64(tagSize) else { return nil }
        let segments = (body + Int64(sealedSegmentSize) - 1) / Int64(sealedSegmentSize)
        let plaintext = body - segments * Int64(tagSize)
        let last = plaintext - (segments - 1) * Int64(Self.segmentSize)
        // A writer never leaves an empty last segment after a full one.
        guard last >= (segments > 1 ? 1 : 0) else { return nil }
        return plaintext
    }
}

/// What went wrong while opening (or, far more rarely, sealing) an envelope; the layer turns it
/// into a ``StoreError`` that names the key and the store.
///
/// No case carries value bytes or key material.
enum EnvelopeFailure: Error {
    /// The stored bytes are too short, or their length is not that of any envelope.
    case malformedLength(Int64)
    /// The header's version byte is not one this layer reads.
    case unsupportedVersion(UInt8)
    /// The header names an encryption algorithm this layer does not know.
    case unsupportedAlgorithm(UInt8)
    /// The header names a key the keyring does not hold.
    case unknownKey(KeyID, known: [KeyID])
    /// A segment's tag does not match: the bytes were changed, cut, reordered or moved from
    /// another entry, or the keyring's key of that id is not the one that sealed them.
    case authenticationFailed(segment: Int, keyID: KeyID, algorithm: String, underlying: (any Error)?)
    /// The crypto library refused to seal a segment.
    case sealingFailed(algorithm: String, underlying: any Error)
}

/// Seals the segments of one value, in order, with the key and header chosen for it.
protocol SegmentSealer {
    /// Seals `payload` as the next segment, the final one when `isLast`; returns the payload as
    /// stored (plain or encrypted) followed by its tag.
    mutating func seal(_ payload: Data, isLast: Bool) throws(EnvelopeFailure) -> Data
}

/// Opens the segments of one stored value, in order, with the key its header names.
protocol SegmentOpener {
    /// Checks (and decrypts) the next sealed segment, the final one when `isLast`; returns its
    /// payload only if the tag matches.
    mutating func open(_ sealed: Data, isLast: Bool) throws(EnvelopeFailure) -> Data
}

/// One kind of envelope: how a layer seals a value for a key and opens it again.
protocol EnvelopeFormat: Sendable {
    associatedtype Sealer: SegmentSealer
    associatedtype Opener: SegmentOpener

    /// The header and tag sizes.
    var layout: EnvelopeLayout { get }

    /// Starts sealing a new value for `key` with the keyring's current key: a fresh header and
    /// the sealer of its segments.
    func makeSealer(for key: StoreKey) throws(EnvelopeFailure) -> (header: Data, sealer: Sealer)

    /// Reads `header` (``EnvelopeLayout/headerSize`` bytes) of a value stored under `key` and
    /// returns the opener of its segments.
    func makeOpener(header: Data, for key: StoreKey) throws(EnvelopeFailure) -> Opener
}

extension EnvelopeFormat {
    /// The bytes every segment's tag covers besides the segment: the header, then the entry's key
    /// (as a 4-byte big-endian length and its UTF-8 bytes), which binds the value to its key.
    static func boundContext(header: Data, key: StoreKey) -> Data {
        var context = header
        let keyBytes = Array(key.rawValue.utf8)
        context.append(contentsOf: UInt32(keyBytes.count).bigEndianBytes)
        context.append(contentsOf: keyBytes)
        return context
    }
}

extension FixedWidthInteger {
    /// The integer's bytes, most significant first.
    var bigEndianBytes: [UInt8] {
        (0..<Self.bitWidth / 8).reversed().map { UInt8(truncatingIfNeeded: self >> ($0 * 8)) }
    }
}
