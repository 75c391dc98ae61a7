import Foundation
import Testing
import TroveTestSupport
import TroveS3Client

/// The signer against botocore's (`S3SigV4Auth`, `S3SigV4QueryAuth`) over randomised requests:
/// keys and query strings with unicode and reserved characters, repeated headers, white space
/// in header values, empty and non-empty bodies, signed and unsigned payloads, session tokens
/// and presigned URLs. Runs where `python3` can import botocore; reported as skipped, saying
/// so, where it cannot.
@Suite(.enabled(if: Botocore.isAvailable, "python3 with botocore is not installed here, so the signer is not compared with botocore's"))
struct BotocoreSigningTests {
    @Test func headerAndQuerySignaturesMatchBotocore() throws {
        var random = SplitMix64(seed: 0x5EED_5167)
        let cases = (0..<300).map { _ in RandomSigningCase(using: &random) }
        let theirs = try Botocore.sign(cases)
        try #require(theirs.count == cases.count)
        for (ours, botocore) in zip(cases, theirs) {
            let signer = SigV4Signer(credentials: ours.credentials, region: ours.region)
            let request = SigV4Request(method: ours.method, host: ours.host, path: ours.path, query: ours.query, headers: ours.headers)
            if ours.presign {
                let signed = signer.presign(request, expires: ours.expires, date: ours.date)
                #expect(signed.canonicalRequest == botocore.canonicalRequest, "\(ours)")
                #expect(signed.stringToSign == botocore.stringToSign, "\(ours)")
                #expect(signed.signature == botocore.signature, "\(ours)")
                #expect(Set(signed.encodedQuery.split(separator: "&")) == Set(botocore.query.split(separator: "&")), "\(ours)")
            } else {
                let payload: SigV4Payload = ours.unsigned ? .unsigned : .hash(of: ours.body)
                let signed = signer.sign(request, payload: payload, date: ours.date)
                #expect(signed.canonicalRequest == botocore.canonicalRequest, "\(ours)")
                #expect(signed.stringToSign == botocore.stringToSign, "\(ours)")
                #expect(signed.signature == botocore.signature, "\(ours)")
                #expect(signed.addedHeaders.first { $0.name == "Authorization" }?.value == botocore.authorization, "\(ours)")
            }
        }
    }
}

/// A random request to sign.
struct RandomSigningCase: CustomStringConvertible, Encodable {
    var method: String
    var host: String
    var path: String
    var query: [SigV4Request.Parameter]
    var headers: [SigV4Request.Parameter]
    var body: Data
    var unsigned: Bool
    var presign: Bool
    var expires: Int
    var date: Date
    var credentials: S3Credentials
    var region: String

    private static let keyAlphabet = Array("abcXYZ019-_.~ !\"#$%&'()*+,:;<=>?@[\\]^`{|}/éßሴ😀\u{00A0}")
    private static let valueAlphabet = Array("abcXYZ019-_.~ !\"#$%&'()*+,/:;<=>?@[\\]^`{|}éሴ😀=")
    private static let headerAlphabet = Array("abcXYZ019-_.~!\"#$%&'()*+,/:;<=>?@[\\]^`{|}=")

    init(using random: inout SplitMix64) {
        func string(_ alphabet: [Character], length: ClosedRange<Int>) -> String {
            String((0..<Int.random(in: length, using: &random)).map { _ in alphabet.randomElement(using: &random)! })
        }
        method = ["GET", "PUT", "HEAD", "DELETE", "POST"].randomElement(using: &random)!
        host = ["127.0.0.1:8333", "s3.us-west-2.amazonaws.com", "bucket.example.com", "localhost:9000"].randomElement(using: &random)!
        let bucket = ["trove", "my-bucket", "b.c.d"].randomElement(using: &random)!
        path = "/" + bucket + "/" + string(Self.keyAlphabet, length: 1...40)
        var names = Set<String>()
        query = (0..<Int.random(in: 0...4, using: &random)).compactMap { _ in
            let name = string(Self.valueAlphabet, length: 1...10)
            guard names.insert(name).inserted else { return nil }
            return .init(name, string(Self.valueAlphabet, length: 0...20))
        }
        headers = (0..<Int.random(in: 0...5, using: &random)).map { _ in
            let name = ["x-amz-meta-a", "X-Amz-Meta-B", "content-type", "Range", "If-Match", "x-amz-meta-a"].randomElement(using: &random)!
            let padding = [" ", "  ", "\t", ""]
            let value = padding.randomElement(using: &random)! + string(Self.headerAlphabet, length: 1...8)
                + [" ", "   ", " \t "].randomElement(using: &random)! + string(Self.headerAlphabet, length: 0...8)
                + padding.randomElement(using: &random)!
            return .init(name, value)
        }
        body = Bool.random(using: &random) ? Data() : Data((0..<Int.random(in: 1...300, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) })
        unsigned = Bool.random(using: &random)
        presign = Int.random(in: 0..<4, using: &random) == 0
        if presign { body = Data() }
        expires = Int.random(in: 1...604_800, using: &random)
        date = Date(timeIntervalSince1970: TimeInterval(Int.random(in: 1_400_000_000...2_000_000_000, using: &random)))
        let token: String? = Bool.random(using: &random) ? string(Self.headerAlphabet, length: 10...60) : nil
        credentials = S3Credentials(accessKeyID: "AKIA" + string(Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), length: 16...16),
                                    secretAccessKey: string(Self.headerAlphabet, length: 40...40), sessionToken: token)
        region = ["us-east-1", "eu-central-1", "ap-southeast-2"].randomElement(using: &random)!
    }

    enum CodingKeys: String, CodingKey {
        case method, host, path, query, headers, body, unsigned, presign, expires, timestamp, access, secret, token, region
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(method, forKey: .method)
        try container.encode(host, forKey: .host)
        try container.encode(path, forKey: .path)
        try container.encode(query.map { [$0.name, $0.value] }, forKey: .query)
        try container.encode(headers.map { [$0.name, $0.value] }, forKey: .headers)
        try container.encode(body.base64EncodedString(), forKey: .body)
        try container.encode(unsigned, forKey: .unsigned)
        try container.encode(presign, forKey: .presign)
        try container.encode(expires, forKey: .expires)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        try container.encode(formatter.string(from: date), forKey: .timestamp)
        try container.encode(credentials.accessKeyID, forKey: .access)
        try container.encode(credentials.secretAccessKey, forKey: .secret)
        try container.encodeIfPresent(credentials.sessionToken, forKey: .token)
        try container.encode(region, forKey: .region)
    }

    var description: String { "\(method) \(host) \(path.debugDescription) query \(query) headers \(headers) presign \(presign)" }
}

/// botocore, run through `python3` with the signing script of Fixtures.
enum Botocore {
    struct Signed: Decodable {
        var canonicalRequest: String
        var stringToSign: String
        var signature: String
        var authorization: String
        var query: String
    }

    static let isAvailable: Bool = (try? run(arguments: ["-c", "import botocore.auth"], input: Data())) != nil

    static func sign(_ cases: [RandomSigningCase]) throws -> [Signed] {
        let script = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/botocore/sign.py").path
        let output = try run(arguments: [script], input: try JSONEncoder().encode(cases))
        return try JSONDecoder().decode([Signed].self, from: output)
    }

    struct Failed: Error, CustomStringConvertible {
        var description: String
    }

    static func run(arguments: [String], input: Data) throws -> Data {
        let process = SpawnedProcess()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let errors = FileManager.default.temporaryDirectory.appendingPathComponent("trove-botocore-\(UUID().uuidString).txt")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errors) }
        let stdin = Pipe(), stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        let writer = Thread {
            stdin.fileHandleForWriting.write(input)
            try? stdin.fileHandleForWriting.close()
        }
        writer.start()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failed(description: "python3 \(arguments.joined(separator: " ")) exited with \(process.terminationStatus): "
                + ((try? String(contentsOf: errors, encoding: .utf8)) ?? ""))
        }
        return output
    }
}

/// SplitMix64: a small, seeded random number generator, so that a failing case can be replayed.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_B9E9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
