import Foundation
import Testing
import Trove
import TroveS3
import TroveS3Client
import TroveTestSupport

/// Credentials and region from explicit values, the environment and the shared files, with the
/// AWS CLI's precedence; every file is a temporary one (HOME points at a scratch directory).
@Suite struct S3SharedSettingsTests {
    static let credentialsFile = """
        # The default profile, and two named ones.
        [default]
        aws_access_key_id = AKIDDEFAULTFILE
        aws_secret_access_key = default-file-secret

        [backup]
        AWS_Access_Key_ID=AKIDBACKUP
        aws_secret_access_key: backup/secret+with=signs
        aws_session_token = backup-session-token
        ; a comment

        [half]
        aws_access_key_id = AKIDHALF
        """

    static let configFile = """
        [default]
        region = eu-west-3

        [profile backup]
        region = ap-south-1
        s3 =
            addressing_style = path
        aws_access_key_id = AKIDBACKUPCONFIG
        aws_secret_access_key = backup-config-secret

        [profile configonly]
        region = sa-east-1
        aws_access_key_id = AKIDCONFIGONLY
        aws_secret_access_key = config-only-secret

        [profile assumed]
        role_arn = arn:aws:iam::123456789012:role/reader
        source_profile = default

        [backup]
        aws_access_key_id = AKIDNOTAPROFILE
        aws_secret_access_key = not-a-profile-secret
        """

    static let secrets = ["default-file-secret", "backup/secret+with=signs", "backup-session-token", "backup-config-secret",
                          "config-only-secret", "not-a-profile-secret", "env-secret", "line-secret"]

    /// A HOME with `.aws/credentials` and `.aws/config` holding the files above.
    func withHome<T>(_ body: (URL, [String: String]) async throws -> T) async throws -> T {
        try await withScratchDirectory("trove-aws-home") { home in
            let aws = home.appendingPathComponent(".aws")
            try FileManager.default.createDirectory(at: aws, withIntermediateDirectories: true)
            try Data(Self.credentialsFile.utf8).write(to: aws.appendingPathComponent("credentials"))
            try Data(Self.configFile.utf8).write(to: aws.appendingPathComponent("config"))
            return try await body(home, ["HOME": home.path])
        }
    }

    func expectNoSecret(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        for secret in Self.secrets { #expect(!text.contains(secret), "a secret in: \(text)", sourceLocation: sourceLocation) }
    }

    @Test func theDefaultProfileOfTheCredentialsFileWithTheConfigFilesRegion() async throws {
        try await withHome { home, environment in
            let settings = try S3SharedSettings.resolve(environment: environment)
            #expect(settings.credentials == S3Credentials(accessKeyID: "AKIDDEFAULTFILE", secretAccessKey: "default-file-secret"))
            #expect(settings.source == .credentialsFile(home.path + "/.aws/credentials"))
            #expect(settings.region == "eu-west-3")
            #expect(settings.profile == "default")
            expectNoSecret(settings.credentials.description + settings.source.description)
        }
    }

    @Test func aNamedProfileTakesTheCredentialsFileOverTheConfigFile() async throws {
        try await withHome { _, environment in
            let settings = try S3SharedSettings.resolve(profile: "backup", environment: environment)
            #expect(settings.credentials == S3Credentials(accessKeyID: "AKIDBACKUP", secretAccessKey: "backup/secret+with=signs",
                                                          sessionToken: "backup-session-token"))
            #expect(settings.region == "ap-south-1", "the config file's [profile backup], not its bare [backup]")
            let configOnly = try S3SharedSettings.resolve(profile: "configonly", environment: environment)
            #expect(configOnly.credentials.accessKeyID == "AKIDCONFIGONLY")
            #expect(configOnly.region == "sa-east-1")
            guard case .configFile(let path) = configOnly.source else { Issue.record("source \(configOnly.source)"); return }
            #expect(path.hasSuffix("/.aws/config"))
        }
    }

    @Test func explicitBeatsEnvironmentBeatsFiles() async throws {
        try await withHome { _, home in
            var environment = home
            environment["AWS_ACCESS_KEY_ID"] = "AKIDENV"
            environment["AWS_SECRET_ACCESS_KEY"] = "env-secret"
            // The environment's keys beat the default profile's, and a profile chosen by AWS_PROFILE.
            let fromEnvironment = try S3SharedSettings.resolve(environment: environment)
            #expect(fromEnvironment.source == .environment)
            environment["AWS_PROFILE"] = "backup"
            let chosenByVariable = try S3SharedSettings.resolve(environment: environment)
            #expect(chosenByVariable.credentials.accessKeyID == "AKIDENV")
            #expect(chosenByVariable.region == "ap-south-1", "AWS_PROFILE still picks the profile's region")
            // An explicit profile beats the environment's keys.
            let explicitProfile = try S3SharedSettings.resolve(profile: "configonly", environment: environment)
            #expect(explicitProfile.credentials.accessKeyID == "AKIDCONFIGONLY")
            // Explicit credentials beat everything.
            let given = S3Credentials(accessKeyID: "AKIDGIVEN", secretAccessKey: "given")
            let explicit = try S3SharedSettings.resolve(credentials: given, profile: "configonly", environment: environment)
            #expect(explicit.credentials == given && explicit.source == .explicit)
        }
    }

    @Test func regionPrecedence() async throws {
        try await withHome { _, home in
            func region(_ given: String?, _ environment: [String: String]) throws -> String? {
                try S3SharedSettings.resolve(region: given, environment: environment).region
            }
            var environment = home
            let fromConfig = try region(nil, environment)
            environment["AWS_DEFAULT_REGION"] = "us-west-1"
            let fromDefaultVariable = try region(nil, environment)
            environment["AWS_REGION"] = "us-west-2"
            let fromVariable = try region(nil, environment)
            let given = try region("ca-central-1", environment)
            #expect(fromConfig == "eu-west-3")
            #expect(fromDefaultVariable == "us-west-1")
            #expect(fromVariable == "us-west-2")
            #expect(given == "ca-central-1")
        }
    }

    @Test func theFileVariablesOverrideHome() async throws {
        try await withHome { home, _ in
            try await withScratchDirectory("trove-aws-files") { other in
                let credentials = other.appendingPathComponent("keys.ini")
                try Data("[default]\naws_access_key_id=AKIDOTHER\naws_secret_access_key=other\n".utf8).write(to: credentials)
                let settings = try S3SharedSettings.resolve(environment: [
                    "HOME": home.path, "AWS_SHARED_CREDENTIALS_FILE": credentials.path, "AWS_CONFIG_FILE": "~/nothing-here",
                ])
                #expect(settings.credentials.accessKeyID == "AKIDOTHER")
                #expect(settings.region == nil, "the config file named by AWS_CONFIG_FILE does not exist")
                // `~/` is the environment's HOME.
                let tilde = try S3SharedSettings.resolve(environment: ["HOME": home.path, "AWS_SHARED_CREDENTIALS_FILE": "~/.aws/credentials"])
                #expect(tilde.credentials.accessKeyID == "AKIDDEFAULTFILE")
            }
        }
    }

    @Test func aMissingProfileNamesItselfAndBothFiles() async throws {
        try await withHome { home, environment in
            let error = #expect(throws: S3ProfileError.self) { try S3SharedSettings.resolve(profile: "nosuch", environment: environment) }
            #expect(error?.kind == .profileNotFound)
            #expect(error?.profile == "nosuch")
            let text = error.map(String.init(describing:)) ?? ""
            #expect(text.contains("'nosuch'"))
            #expect(text.contains(home.path + "/.aws/credentials") && text.contains(home.path + "/.aws/config"))
            expectNoSecret(text)
            // Named by AWS_PROFILE, it is an error too, even with the keys in the environment.
            var variables = environment
            variables["AWS_PROFILE"] = "nosuch"
            variables["AWS_ACCESS_KEY_ID"] = "AKIDENV"
            variables["AWS_SECRET_ACCESS_KEY"] = "env-secret"
            let named = #expect(throws: S3ProfileError.self) { try S3SharedSettings.resolve(environment: variables) }
            #expect(named?.kind == .profileNotFound && named?.message.contains("AWS_PROFILE") == true)
            expectNoSecret(named.map(String.init(describing:)) ?? "")
        }
    }

    @Test func incompleteAndUnsupportedProfilesSaySo() async throws {
        try await withHome { _, environment in
            let half = #expect(throws: S3ProfileError.self) { try S3SharedSettings.resolve(profile: "half", environment: environment) }
            #expect(half?.kind == .incompleteCredentials)
            #expect(half?.message.contains("aws_secret_access_key") == true && half?.message.contains("'half'") == true)
            let assumed = #expect(throws: S3ProfileError.self) { try S3SharedSettings.resolve(profile: "assumed", environment: environment) }
            #expect(assumed?.kind == .unsupportedProfile)
            #expect(assumed?.message.contains("role_arn") == true)
            let onlyID = #expect(throws: S3ProfileError.self) {
                try S3SharedSettings.resolve(environment: ["AWS_ACCESS_KEY_ID": "AKIDENV"])
            }
            #expect(onlyID?.kind == .incompleteCredentials && onlyID?.message.contains("AWS_SECRET_ACCESS_KEY") == true)
            for error in [half, assumed, onlyID] { expectNoSecret(error.map(String.init(describing:)) ?? "") }
        }
    }

    @Test func noCredentialsAnywhere() throws {
        let error = #expect(throws: S3ProfileError.self) { try S3SharedSettings.resolve(environment: [:]) }
        #expect(error?.kind == .noCredentials)
        #expect(error?.message.contains("AWS_ACCESS_KEY_ID") == true)
    }

    @Test func aMalformedFileNamesTheLineButNotItsText() async throws {
        try await withScratchDirectory("trove-aws-bad") { directory in
            let file = directory.appendingPathComponent("credentials")
            try Data("[default]\naws_access_key_id = AKIDX\naws_secret_access_key line-secret\n".utf8).write(to: file)
            let error = #expect(throws: S3ProfileError.self) {
                try S3SharedSettings.resolve(environment: ["AWS_SHARED_CREDENTIALS_FILE": file.path])
            }
            #expect(error?.kind == .malformedFile)
            #expect(error?.message.contains("line 3") == true && error?.message.contains(file.path) == true)
            expectNoSecret(error.map(String.init(describing:)) ?? "")
        }
    }

    @Test func anS3URLTakesAProfile() async throws {
        try await withHome { _, environment in
            let settings = try S3Store.URLConfiguration(try StoreURL(parsing: "s3://trove/p?endpoint=http://127.0.0.1:8333&profile=backup"),
                                                        environment: environment)
            #expect(settings.client.credentials.accessKeyID == "AKIDBACKUP")
            #expect(settings.client.region == "ap-south-1")
            let regionGiven = try S3Store.URLConfiguration(try StoreURL(parsing: "s3://trove?profile=backup&region=eu-north-1&parts=7"),
                                                           environment: environment)
            #expect(regionGiven.client.region == "eu-north-1")
            #expect(regionGiven.client.endpoint.absoluteString == "https://s3.eu-north-1.amazonaws.com")
            #expect(regionGiven.options.concurrentParts == 7)
            let error = #expect(throws: StoreError.self) {
                try S3Store.URLConfiguration(try StoreURL(parsing: "s3://trove?profile=nosuch"), environment: environment)
            }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains("'nosuch'") == true)
            #expect((error?.underlying as? S3ProfileError)?.kind == .profileNotFound)
            expectNoSecret(error.map(String.init(describing:)) ?? "")
            let parts = #expect(throws: StoreError.self) {
                try S3Store.URLConfiguration(try StoreURL(parsing: "s3://trove?parts=0"), environment: environment)
            }
            #expect(parts?.code == .invalidArgument)
        }
    }
}
