import Crypto
import Foundation
import Trove

/// The envelope of ``SignedStore``, version 1 (the format is described there).
struct SignedEnvelope: EnvelopeFormat {
    /// The version byte this format writes and reads.
    static let version: UInt8 = 1
    /// Bytes of random write id in the header.
    static let writeIDSize = 16
    /// What HKDF-SHA256 is told when it derives a signing key from a keyring key.
    static let derivationInfo = Data("Trove SignedStore v1 HMAC-SHA256".utf8)

    let layout = EnvelopeLayout(headerSize: 1 + 4 + writeIDSize, tagSize: SHA256.byteCount)

    private let currentKeyID: KeyID
    /// The signing key derived from each keyring key, by id.
    private let signingKeys: [KeyID: SymmetricKey]

    /// Derives a signing key from every key of `keyring`.
    init(keyring: Keyring) {
        self.currentKeyID = keyring.currentKeyID
        var signingKeys: [KeyID: SymmetricKey] = [:]
        for id in keyring.keyIDs {
            guard let key = keyring.key(id) else { continue }
            signingKeys[id] = HKDF<SHA256>.deriveKey(inputKeyMaterial: key, info: Self.derivationInfo,
                                                     outputByteCount: SHA256.byteCount)
        }
        self.signingKeys = signingKeys
    }

    func makeSealer(for key: StoreKey) throws(EnvelopeFailure) -> (header: Data, sealer: SignedSegments) {
        guard let signingKey = signingKeys[currentKeyID] else {
            throw .unknownKey(currentKeyID, known: signingKeys.keys.sorted())
        }
        var header = Data([Self.version])
        header.append(contentsOf: currentKeyID.rawValue.bigEndianBytes)
        header.append(randomBytes(count: Self.writeIDSize))
        let context = Self.boundContext(header: header, key: key)
        return (header, SignedSegments(key: signingKey, keyID: currentKeyID, context: context, tagSize: layout.tagSize))
    }

    func makeOpener(header: Data, for key: StoreKey) throws(EnvelopeFailure) -> SignedSegments {
        let bytes = [UInt8](header)
        guard bytes.count == layout.headerSize else { throw .malformedLength(Int64(bytes.count)) }
        guard bytes[0] == Self.version else { throw .unsupportedVersion(bytes[0]) }
        let id = KeyID(bigEndian: bytes, at: 1)
        guard let signingKey = signingKeys[id] else { throw .unknownKey(id, known: signingKeys.keys.sorted()) }
        let context = Self.boundContext(header: header, key: key)
        return SignedSegments(key: signingKey, keyID: id, context: context, tagSize: layout.tagSize)
    }
}

/// Signs or checks the segments of one value: segment `i`'s tag is HMAC-SHA256 over the bound
/// context (header and entry key), `i` as 8 big-endian bytes, a byte 1 for the last segment or 0,
/// and the segment's bytes.
struct SignedSegments: SegmentSealer, SegmentOpener {
    let key: SymmetricKey
    let keyID: KeyID
    let context: Data
    let tagSize: Int
    var index: UInt64 = 0

    private func tag(_ payload: Data, isLast: Bool) -> HashedAuthenticationCode<SHA256> {
        var hmac = HMAC<SHA256>(key: key)
        hmac.update(data: context)
        hmac.update(data: index.bigEndianBytes + [isLast ? 1 : 0])
        hmac.update(data: payload)
        return hmac.finalize()
    }

    mutating func seal(_ payload: Data, isLast: Bool) throws(EnvelopeFailure) -> Data {
        var sealed = payload
        sealed.append(contentsOf: tag(payload, isLast: isLast))
        index += 1
        return sealed
    }

    mutating func open(_ sealed: Data, isLast: Bool) throws(EnvelopeFailure) -> Data {
        guard sealed.count >= tagSize else {
            throw .authenticationFailed(segment: Int(index), keyID: keyID, algorithm: "HMAC-SHA256", underlying: nil)
        }
        let split = sealed.endIndex - tagSize
        let payload = Data(sealed[sealed.startIndex..<split])
        // `==` between an authentication code and bytes compares in constant time.
        guard tag(payload, isLast: isLast) == sealed[split...] else {
            throw .authenticationFailed(segment: Int(index), keyID: keyID, algorithm: "HMAC-SHA256", underlying: nil)
        }
        index += 1
        return payload
    }
}

/// `count` bytes from the system's cryptographically secure generator (through swift-crypto).
func randomBytes(count: Int) -> Data {
    SymmetricKey(size: SymmetricKeySize(bitCount: count * 8)).withUnsafeBytes { Data($0) }
}
