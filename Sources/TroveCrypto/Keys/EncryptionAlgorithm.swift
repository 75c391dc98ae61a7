/// The authenticated cipher with which an ``EncryptedStore`` seals new values.
///
/// Both ciphers take 256-bit keys, 96-bit nonces and give 128-bit tags, so their envelopes have
/// the same layout. Each envelope names its cipher, so a store reads values sealed with either,
/// whichever it writes with: switching ciphers needs no migration.
///
/// - ``aes256GCM`` is the default: hardware-accelerated on every current x86-64 and ARM64
///   processor.
/// - ``chaCha20Poly1305`` is as safe and faster on processors without AES instructions.
public struct EncryptionAlgorithm: Hashable, Sendable, CustomStringConvertible {
    private enum Base: UInt8, Hashable, Sendable {
        case aes256GCM = 1
        case chaCha20Poly1305 = 2
    }

    private let base: Base

    private init(_ base: Base) { self.base = base }

    /// AES-256 in Galois/Counter Mode (NIST SP 800-38D). Envelope code 1.
    public static let aes256GCM = EncryptionAlgorithm(.aes256GCM)

    /// ChaCha20-Poly1305 (RFC 8439). Envelope code 2.
    public static let chaCha20Poly1305 = EncryptionAlgorithm(.chaCha20Poly1305)

    /// The byte that names the algorithm in an envelope.
    var code: UInt8 { base.rawValue }

    /// The algorithm an envelope's byte names, or `nil` for an unknown byte.
    init?(code: UInt8) {
        guard let base = Base(rawValue: code) else { return nil }
        self.base = base
    }

    /// Whether this is AES-256-GCM.
    var isAES: Bool { base == .aes256GCM }

    /// `AES-256-GCM` or `ChaCha20-Poly1305`.
    public var description: String {
        switch base {
        case .aes256GCM: return "AES-256-GCM"
        case .chaCha20Poly1305: return "ChaCha20-Poly1305"
        }
    }
}
