import Foundation
import Testing
import Trove
import TroveS3
import TroveS3Client

/// `s3:` URLs: what they open, and the ones they refuse (no server needed).
@Suite struct S3StoreURLTests {
    let credentials = ["AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret-never-shown"]

    func configuration(_ text: String, environment: [String: String]? = nil) throws -> S3Store.URLConfiguration {
        try S3Store.URLConfiguration(try StoreURL(parsing: text), environment: environment ?? credentials)
    }

    @Test func aLocalServerWithAPrefix() throws {
        let settings = try configuration("s3://trove/app/data?endpoint=http://127.0.0.1:8333&region=eu-central-1&listing=walk")
        #expect(settings.bucket == "trove")
        #expect(settings.prefix == "app/data/")
        #expect(settings.client.endpoint.absoluteString == "http://127.0.0.1:8333")
        #expect(settings.client.region == "eu-central-1")
        #expect(settings.client.addressing == .path)
        #expect(settings.options.listingOrder == .hierarchyWalk)
        #expect(settings.options.keyRules == .automatic)
        #expect(try configuration("s3://trove?keys=seaweedfs").options.keyRules == .seaweedFS)
        #expect(try configuration("s3://trove?keys=s3").options.keyRules == .s3)
    }

    @Test func aConnectionAddress() throws {
        let settings = try configuration("s3://photos?endpoint=http://s3.example.test:8333&addressing=virtual&connect=127.0.0.1:8333")
        #expect(settings.client.addressing == .virtualHost)
        #expect(settings.client.connectionAddress == .init(host: "127.0.0.1", port: 8333))
        #expect(try configuration("s3://photos?connect=[::1]:9000").client.connectionAddress == .init(host: "::1", port: 9000))
        #expect(try configuration("s3://photos").client.connectionAddress == nil)
    }

    @Test func awsByDefault() throws {
        let settings = try configuration("s3://photos")
        #expect(settings.prefix == "")
        #expect(settings.client.endpoint.absoluteString == "https://s3.us-east-1.amazonaws.com")
        #expect(settings.client.addressing == .virtualHost)
    }

    @Test(arguments: ["s3:///nobucket", "s3://user:pass@bucket/p", "s3://bucket?colour=red", "s3://bucket?addressing=sideways",
                      "s3://bucket?endpoint=ftp://host", "s3://bucket:9000/p", "s3://bucket?connect=host",
                      "s3://bucket?connect=:80", "s3://bucket?connect=host:http", "s3://bucket?connect=host:0",
                      "s3://bucket?keys=any"])
    func badURLsAreRefused(_ text: String) throws {
        let error = #expect(throws: StoreError.self) { try configuration(text) }
        #expect(error?.code == .invalidArgument)
        #expect(error.map { !String(describing: $0).contains("secret-never-shown") } == true)
    }

    @Test func missingCredentialsAreSaidSo() throws {
        let error = #expect(throws: StoreError.self) { try configuration("s3://bucket", environment: [:]) }
        #expect(error?.message.contains("AWS_ACCESS_KEY_ID") == true)
    }
}
