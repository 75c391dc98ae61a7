public import Foundation
import Crypto

extension SigV4Signer {
    /// Signs `request` for a body sent in `aws-chunked` encoding
    /// (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`), and returns the signer of its chunks.
    ///
    /// The request's headers must already hold what S3 requires of such a body, since they are
    /// signed: `Content-Encoding: aws-chunked`, `x-amz-decoded-content-length` (the bytes of the
    /// value) and `Content-Length` (the bytes of the encoded body, see
    /// ``SigV4ChunkSigner/encodedLength(ofDecodedLength:chunkSize:)``). The request's signature
    /// is the seed of the chain: the first chunk's signature covers it, and each later one
    /// covers the one before.
    ///
    /// - Returns: The signed request (its ``SigV4SignedRequest/signature`` is the seed
    ///   signature) and the signer of the body's chunks, in order.
    public func signChunked(_ request: SigV4Request, date: Date = Date()) -> (request: SigV4SignedRequest, chunks: SigV4ChunkSigner) {
        let signed = sign(request, payload: .signedChunks, date: date)
        let (timestamp, day) = SigV4Encoding.timestamp(date)
        let chunks = SigV4ChunkSigner(seedSignature: signed.signature, timestamp: timestamp,
                                      scope: "\(day)/\(region)/\(service)/aws4_request", key: signingKey(day: day))
        return (signed, chunks)
    }
}

/// Signs the chunks of an `aws-chunked` body, one after the other, and frames them as S3 reads
/// them: `SIZE-IN-HEX;chunk-signature=SIGNATURE\r\nBYTES\r\n`, the body ending with a chunk of
/// no bytes.
///
/// Each signature is the HMAC, under the day's signing key, of a string to sign that holds the
/// previous signature (the request's for the first chunk) and the SHA-256 of the chunk's bytes,
/// so a chunk cannot be changed, dropped or moved without the server noticing. A signer comes
/// from ``SigV4Signer/signChunked(_:date:)``; it is a value, and each copy continues the chain
/// from where it was copied.
public struct SigV4ChunkSigner: Sendable {
    /// The signature of the last chunk signed; before the first, the request's (the seed).
    public private(set) var previousSignature: String
    /// The request's time, `20130524T000000Z`.
    public let timestamp: String
    /// The credential scope, `20130524/us-east-1/s3/aws4_request`.
    public let scope: String
    private let key: SymmetricKey

    /// The smallest chunk S3 accepts, but for the last one: 8 KiB.
    public static let minimumChunkSize = 8 << 10

    private static let emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    init(seedSignature: String, timestamp: String, scope: String, key: SymmetricKey) {
        self.previousSignature = seedSignature
        self.timestamp = timestamp
        self.scope = scope
        self.key = key
    }

    /// The string to sign of a chunk of `bytes` that follows ``previousSignature``.
    public func stringToSign(ofChunk bytes: some DataProtocol) -> String {
        "AWS4-HMAC-SHA256-PAYLOAD\n\(timestamp)\n\(scope)\n\(previousSignature)\n\(Self.emptyHash)\n"
            + SigV4Encoding.hex(SHA256.hash(data: bytes))
    }

    /// Signs the next chunk, `bytes` (empty for the last one), and makes its signature the
    /// previous one of the chunk after it.
    ///
    /// - Returns: The chunk's signature, 64 lower-case hex digits.
    public mutating func sign(chunk bytes: some DataProtocol) -> String {
        let signature = SigV4Encoding.hex(HMAC<SHA256>.authenticationCode(for: Data(stringToSign(ofChunk: bytes).utf8), using: key))
        previousSignature = signature
        return signature
    }

    /// Signs the next chunk and frames it: its size in hex, its signature, its bytes.
    public mutating func frame(_ bytes: some DataProtocol) -> Data {
        let signature = sign(chunk: bytes)
        var framed = Data(Self.header(size: bytes.count, signature: signature).utf8)
        framed.append(contentsOf: bytes)
        framed.append(contentsOf: [0x0D, 0x0A])
        return framed
    }

    /// The framed last chunk: no bytes, and the signature that ends the chain.
    public mutating func finalFrame() -> Data {
        frame(Data())
    }

    static func header(size: Int, signature: String) -> String {
        String(size, radix: 16) + ";chunk-signature=" + signature + "\r\n"
    }

    /// The size of the encoded body of a value of `decodedLength` bytes cut into chunks of
    /// `chunkSize` bytes (the last one shorter), the final empty chunk included: what
    /// `Content-Length` says.
    public static func encodedLength(ofDecodedLength decodedLength: Int64, chunkSize: Int) -> Int64 {
        precondition(chunkSize > 0 && decodedLength >= 0)
        // hex size, ";chunk-signature=", 64 hex digits, CRLF, the bytes, CRLF.
        func framed(_ size: Int) -> Int64 { Int64(String(size, radix: 16).utf8.count + 17 + 64 + 2 + size + 2) }
        let full = decodedLength / Int64(chunkSize)
        let rest = Int(decodedLength % Int64(chunkSize))
        return full * framed(chunkSize) + (rest > 0 ? framed(rest) : 0) + framed(0)
    }
}
