import Foundation
import Testing
import TroveS3Client

/// AWS's published Signature Version 4 test suite (the `v4` cases of aws-c-auth's
/// aws-signing-test-suite, kept as data in Fixtures): for each case, the canonical request,
/// the string to sign, the signature and the signed request, in headers and in the query.
@Suite struct SigV4TestSuiteTests {
    static let suiteDirectory = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/aws-signing-test-suite-v4")

    static let caseNames: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: suiteDirectory.path)) ?? []
        return names.filter { FileManager.default.fileExists(atPath: suiteDirectory.appendingPathComponent("\($0)/request.txt").path) }.sorted()
    }()

    @Test func theSuiteIsThere() {
        #expect(Self.caseNames.count == 38)
    }

    @Test(arguments: caseNames) func headerSigning(_ name: String) throws {
        let testCase = try SuiteCase(name: name, directory: Self.suiteDirectory)
        let signed = testCase.signer.sign(testCase.request, payload: .hash(of: testCase.body), date: testCase.date)
        #expect(signed.canonicalRequest == (try testCase.file("header-canonical-request.txt")))
        #expect(signed.stringToSign == (try testCase.file("header-string-to-sign.txt")))
        #expect(signed.signature == (try testCase.file("header-signature.txt")).trimmingCharacters(in: .whitespacesAndNewlines))

        var sent = testCase.request.headers + signed.addedHeaders
        if testCase.tokenAddedAfterSigning, let token = testCase.token { sent.append(.init("X-Amz-Security-Token", token)) }
        let expected = try RawRequest(try testCase.file("header-signed-request.txt"))
        #expect(Self.normalized(sent + [.init("Host", testCase.request.host)]) == Self.normalized(expected.headers))
        #expect(expected.target == testCase.raw.target)
    }

    @Test(arguments: caseNames) func querySigning(_ name: String) throws {
        let testCase = try SuiteCase(name: name, directory: Self.suiteDirectory)
        let signed = testCase.signer.presign(testCase.request, expires: testCase.expires, payload: .hash(of: testCase.body),
                                             date: testCase.date)
        #expect(signed.canonicalRequest == (try testCase.file("query-canonical-request.txt")))
        #expect(signed.stringToSign == (try testCase.file("query-string-to-sign.txt")))
        #expect(signed.signature == (try testCase.file("query-signature.txt")).trimmingCharacters(in: .whitespacesAndNewlines))

        var query = try RawRequest.parseQuery(signed.encodedQuery)
        if testCase.tokenAddedAfterSigning, let token = testCase.token { query.append(.init("X-Amz-Security-Token", token)) }
        let expected = try RawRequest(try testCase.file("query-signed-request.txt"))
        #expect(Self.sorted(query) == Self.sorted(try RawRequest.parseQuery(expected.query)))
        #expect(expected.path == testCase.raw.path)
        #expect(Self.normalized(testCase.request.headers + [.init("Host", testCase.request.host)]) == Self.normalized(expected.headers))
    }

    static func normalized(_ headers: [SigV4Request.Parameter]) -> [String] {
        headers.map { $0.name.lowercased() + ":" + $0.value }.sorted()
    }

    static func sorted(_ parameters: [SigV4Request.Parameter]) -> [String] {
        parameters.map { $0.name + "=" + $0.value }.sorted()
    }
}

/// One case of the suite: its context and its request.
struct SuiteCase {
    let directory: URL
    let raw: RawRequest
    let request: SigV4Request
    let body: Data
    let signer: SigV4Signer
    let date: Date
    let expires: Int
    let token: String?
    let tokenAddedAfterSigning: Bool

    init(name: String, directory: URL) throws {
        self.directory = directory.appendingPathComponent(name)
        let context = try JSONSerialization.jsonObject(with: Data(contentsOf: self.directory.appendingPathComponent("context.json"))) as! [String: Any]
        let credentials = context["credentials"] as! [String: Any]
        token = credentials["token"] as? String
        tokenAddedAfterSigning = context["omit_session_token"] as? Bool ?? false
        let keys = S3Credentials(accessKeyID: credentials["access_key_id"] as! String,
                                 secretAccessKey: credentials["secret_access_key"] as! String,
                                 sessionToken: tokenAddedAfterSigning ? nil : token)
        signer = SigV4Signer(credentials: keys, region: context["region"] as! String, service: context["service"] as! String,
                             sendsContentHashHeader: context["sign_body"] as? Bool ?? false,
                             normalizesPath: context["normalize"] as? Bool ?? true)
        date = try Date(context["timestamp"] as! String, strategy: .iso8601)
        expires = context["expiration_in_seconds"] as? Int ?? 3600
        raw = try RawRequest(String(contentsOf: self.directory.appendingPathComponent("request.txt"), encoding: .utf8))
        body = Data(raw.body.utf8)
        let host = raw.headers.first { $0.name.lowercased() == "host" }!.value
        request = SigV4Request(method: raw.method, host: host, path: raw.path, query: try RawRequest.parseQuery(raw.query),
                               headers: raw.headers.filter { $0.name.lowercased() != "host" })
    }

    func file(_ name: String) throws -> String {
        try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
    }
}

/// A request written as the suite writes them: a request line, headers (a line starting with
/// white space continues the previous one), an empty line and the body.
struct RawRequest {
    var method: String
    var target: String
    var headers: [SigV4Request.Parameter] = []
    var body: String

    var path: String { String(target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0]) }
    var query: String {
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        return parts.count > 1 ? String(parts[1]) : ""
    }

    struct Malformed: Error { let text: String }

    init(_ text: String) throws {
        let (head, body) = text.range(of: "\n\n").map { (String(text[..<$0.lowerBound]), String(text[$0.upperBound...])) } ?? (text, "")
        self.body = body
        var lines = head.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        while lines.last == "" { lines.removeLast() }
        guard let requestLine = lines.first, requestLine.hasSuffix(" HTTP/1.1") else { throw Malformed(text: text) }
        let line = requestLine.dropLast(" HTTP/1.1".count)
        guard let space = line.firstIndex(of: " ") else { throw Malformed(text: text) }
        method = String(line[..<space])
        target = String(line[line.index(after: space)...])
        for line in lines.dropFirst() {
            if line.first == " " || line.first == "\t", !headers.isEmpty {
                headers[headers.count - 1].value += "\n" + line
            } else if let colon = line.firstIndex(of: ":") {
                headers.append(.init(String(line[..<colon]), String(line[line.index(after: colon)...])))
            } else {
                throw Malformed(text: line)
            }
        }
    }

    /// The decoded parameters of a query string.
    static func parseQuery(_ query: String) throws -> [SigV4Request.Parameter] {
        guard !query.isEmpty else { return [] }
        return try query.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = parts[0].removingPercentEncoding,
                  let value = (parts.count > 1 ? String(parts[1]) : "").removingPercentEncoding else { throw Malformed(text: String(pair)) }
            return .init(name, value)
        }
    }
}
