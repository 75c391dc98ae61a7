import Crypto
import Foundation
import Trove

/// The envelope of ``EncryptedStore``, version 1 (the format is described there).
struct EncryptedEnvelope: EnvelopeFormat {
    /// The version byte this format writes and reads.
    static let version: UInt8 = 1
    /// Bytes of random salt in the header, from which each write's key is derived.
    static let saltSize = 16
    /// Bytes of nonce and of tag of both ciphers.
    static let nonceSize = 12
    static let tagSize = 16
    /// What HKDF-SHA256 is told, before the algorithm's code, when it derives a write's key.
    static let derivationInfo = Data("Trove EncryptedStore v1".utf8)

    let layout = EnvelopeLayout(headerSize: 1 + 1 + 4 + saltSize, tagSize: tagSize)
    let algorithm: EncryptionAlgorithm

    private let keyring: Keyring

    /// Seals new values with the keyring's current key and `algorithm`.
    init(keyring: Keyring, algorithm: EncryptionAlgorithm) {
        self.keyring = keyring
        self.algorithm = algorithm
    }

    func makeSealer(for key: StoreKey) throws(EnvelopeFailure) -> (header: Data, sealer: EncryptedSegments) {
        let id = keyring.currentKeyID
        guard let keyringKey = keyring.key(id) else { throw .unknownKey(id, known: keyring.keyIDs) }
        var header = Data([Self.version, algorithm.code])
        header.append(contentsOf: id.rawValue.bigEndianBytes)
        let salt = randomBytes(count: Self.saltSize)
        header.append(salt)
        let writeKey = Self.writeKey(from: keyringKey, salt: salt, algorithm: algorithm)
        let context = Self.boundContext(header: header, key: key)
        return (header, EncryptedSegments(key: writeKey, keyID: id, algorithm: algorithm, context: context))
    }

    func makeOpener(header: Data, for key: StoreKey) throws(EnvelopeFailure) -> EncryptedSegments {
        let bytes = [UInt8](header)
        guard bytes.count == layout.headerSize else { throw .malformedLength(Int64(bytes.count)) }
        guard bytes[0] == Self.version else { throw .unsupportedVersion(bytes[0]) }
        guard let algorithm = EncryptionAlgorithm(code: bytes[1]) else { throw .unsupportedAlgorithm(bytes[1]) }
        let id = KeyID(bigEndian: bytes, at: 2)
        guard let keyringKey = keyring.key(id) else { throw .unknownKey(id, known: keyring.keyIDs) }
        let salt = Data(bytes[6..<(6 + Self.saltSize)])
        let writeKey = Self.writeKey(from: keyringKey, salt: salt, algorithm: algorithm)
        let context = Self.boundContext(header: header, key: key)
        return EncryptedSegments(key: writeKey, keyID: id, algorithm: algorithm, context: context)
    }

    /// The key of one write: HKDF-SHA256 of the keyring key with the write's random salt, told
    /// the format and the algorithm's code.
    static func writeKey(from keyringKey: SymmetricKey, salt: Data, algorithm: EncryptionAlgorithm) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: keyringKey, salt: salt, info: derivationInfo + [algorithm.code],
                               outputByteCount: 32)
    }
}

/// Encrypts or decrypts the segments of one value with its write's key: segment `i` uses the
/// nonce `i` (12 bytes, big-endian) and authenticates the bound context (header and entry key)
/// followed by a byte 1 for the last segment or 0.
struct EncryptedSegments: SegmentSealer, SegmentOpener {
    let key: SymmetricKey
    let keyID: KeyID
    let algorithm: EncryptionAlgorithm
    let context: Data
    var index: UInt64 = 0

    private var nonceBytes: [UInt8] { [0, 0, 0, 0] + index.bigEndianBytes }

    private func authenticatedData(isLast: Bool) -> Data {
        var data = context
        data.append(isLast ? 1 : 0)
        return data
    }

    mutating func seal(_ payload: Data, isLast: Bool) throws(EnvelopeFailure) -> Data {
        let aad = authenticatedData(isLast: isLast)
        let sealed: Data
        do {
            if algorithm.isAES {
                let box = try AES.GCM.seal(payload, using: key, nonce: try AES.GCM.Nonce(data: nonceBytes), authenticating: aad)
                sealed = box.ciphertext + box.tag
            } else {
                let box = try ChaChaPoly.seal(payload, using: key, nonce: try ChaChaPoly.Nonce(data: nonceBytes), authenticating: aad)
                sealed = box.ciphertext + box.tag
            }
        } catch {
            throw .sealingFailed(algorithm: algorithm.description, underlying: error)
        }
        index += 1
        return sealed
    }

    mutating func open(_ sealed: Data, isLast: Bool) throws(EnvelopeFailure) -> Data {
        guard sealed.count >= EncryptedEnvelope.tagSize else {
            throw .authenticationFailed(segment: Int(index), keyID: keyID, algorithm: algorithm.description, underlying: nil)
        }
        let split = sealed.endIndex - EncryptedEnvelope.tagSize
        let ciphertext = sealed[sealed.startIndex..<split], tag = sealed[split...]
        let aad = authenticatedData(isLast: isLast)
        let payload: Data
        do {
            if algorithm.isAES {
                let box = try AES.GCM.SealedBox(nonce: try AES.GCM.Nonce(data: nonceBytes), ciphertext: ciphertext, tag: tag)
                payload = try AES.GCM.open(box, using: key, authenticating: aad)
            } else {
                let box = try ChaChaPoly.SealedBox(nonce: try ChaChaPoly.Nonce(data: nonceBytes), ciphertext: ciphertext, tag: tag)
                payload = try ChaChaPoly.open(box, using: key, authenticating: aad)
            }
        } catch {
            throw .authenticationFailed(segment: Int(index), keyID: keyID, algorithm: algorithm.description, underlying: error)
        }
        index += 1
        return payload
    }
}
