import BizAWS
import BizEvents
import BizRuntime
import BizServiceKit
import BizTesting
import Foundation
import Testing

/// Secrets from each provider: the variable, its `_FILE`, and AWS Secrets Manager (moto's server, which
/// `scripts/test` starts: `BIZ_TEST_DYNAMODB_ENDPOINT`).
@Suite("Secrets")
struct SecretProviderTests {
    static var motoEndpoint: String? {
        ProcessInfo.processInfo.environment["BIZ_TEST_DYNAMODB_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 }
    }

    static func awsEnvironment(_ endpoint: String) -> [String: String] {
        [
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": endpoint,
        ]
    }

    /// The Secrets Manager API itself, for the test to create and rotate secrets as an operator would.
    static func secretsManager(_ endpoint: String) -> AWSJSONClient {
        AWSJSONClient(
            service: "secretsmanager", targetPrefix: "secretsmanager", jsonVersion: "1.1", region: "us-east-1",
            credentials: AWSCredentials(accessKeyID: "testing", secretAccessKey: "testing"),
            endpoint: URL(string: endpoint)!)
    }

    @Test("a secret comes from its variable or the file its _FILE names (the file wins; one line break trimmed)")
    func environmentAndFiles() async throws {
        try await withTemporaryDirectory { directory in
            let file = directory + "/master.key"
            try Data("bWFzdGVyLWtleS1maWxl\n".utf8).write(to: URL(fileURLWithPath: file))
            let password = directory + "/password"
            try Data("from-a-file\r\n".utf8).write(to: URL(fileURLWithPath: password))
            let configuration = try await ConfigurationReader(
                environment: [
                    "BIZ_MASTER_KEY": "bWFzdGVyLWtleS1lbnY=", "BIZ_MASTER_KEY_FILE": file,
                    "BIZ_BOOTSTRAP_ADMIN_PASSWORD_FILE": password, "BIZ_GATEWAY_CLIENT_SECRET": "from-the-environment",
                    "BIZ_KAFKA_PROPERTY_SASL_PASSWORD_FILE": password,
                ]
            ).read()
            #expect(configuration.masterKey?.value == "bWFzdGVyLWtleS1maWxl")
            #expect(configuration.identity.bootstrapAdminPassword?.value == "from-a-file")
            #expect(configuration.serviceClientSecrets["gateway"]?.value == "from-the-environment")
            #expect(configuration.kafka.properties["sasl.password"]?.value == "from-a-file")
            let report = configuration.report()
            #expect(report.contains("BIZ_MASTER_KEY = <redacted> from the file \(file) (BIZ_MASTER_KEY_FILE)"))
            #expect(
                report.contains(
                    "BIZ_GATEWAY_CLIENT_SECRET = <redacted> from the environment (BIZ_GATEWAY_CLIENT_SECRET)"))
            #expect(report.contains("BIZ_KAFKA_PROPERTY_SASL_PASSWORD = <redacted> from the file \(password)"))
            for value in ["bWFzdGVyLWtleS1maWxl", "from-a-file", "from-the-environment"] {
                #expect(!report.contains(value))
            }
        }
    }

    @Test("an unreadable secret file, or a secret in the configuration file, is refused naming the setting")
    func refused() async throws {
        let missing = await #expect(throws: RuntimeError.self) {
            try await ConfigurationReader(environment: ["BIZ_DATABASE_URL_FILE": "/nonexistent/db-url"]).read()
        }
        #expect(missing?.description == "BIZ_DATABASE_URL_FILE names /nonexistent/db-url, which cannot be read")
        try await withTemporaryDirectory { directory in
            let file = directory + "/config.json"
            try Data(#"{"smtp": {"url": "smtp://u:hunter2@mail"}, "grpc": {"port": 7000}}"#.utf8).write(
                to: URL(fileURLWithPath: file))
            let inFile = await #expect(throws: RuntimeError.self) {
                try await ConfigurationReader(environment: ["BIZ_CONFIG_FILE": file]).read()
            }
            #expect(inFile?.description.contains("BIZ_SMTP_URL_FILE") == true, "\(inFile?.description ?? "")")
            #expect(inFile?.description.contains("hunter2") == false)
        }
        let loop = await #expect(throws: RuntimeError.self) {
            try await ConfigurationReader(
                environment: ["AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "secretsmanager://aws-key"]
            ).read()
        }
        #expect(loop?.description.contains("AWS_SECRET_ACCESS_KEY cannot be a secretsmanager:// reference") == true)
    }

    @Test(
        "secretsmanager:// references resolve through AWS Secrets Manager (moto), a key of a JSON secret too; a rotated value is read on refresh",
        .enabled(if: motoEndpoint != nil))
    func secretsManager() async throws {
        let endpoint = try #require(Self.motoEndpoint)
        let api = Self.secretsManager(endpoint)
        do {
            try await secretsManager(api, endpoint: endpoint)
        } catch {
            try? await api.shutdown()
            throw error
        }
        try await api.shutdown()
    }

    func secretsManager(_ api: AWSJSONClient, endpoint: String) async throws {
        let prefix = "biz-test-\(UUID().uuidString.prefix(8))"
        let created = try await api.call(
            "CreateSecret",
            ["Name": .string("\(prefix)/db"), "SecretString": "postgres://app:first-password@db.internal/app"])
        _ = try await api.call(
            "CreateSecret",
            [
                "Name": .string("\(prefix)/mail"),
                "SecretString": #"{"url": "smtps://mailer:mail-password@mail.internal", "other": 1}"#,
            ])
        var environment = Self.awsEnvironment(endpoint)
        environment["BIZ_DATABASE_URL"] = "secretsmanager://\(prefix)/db"
        environment["BIZ_SMTP_URL"] = "secretsmanager://\(prefix)/mail#url"
        let configuration = try await ConfigurationReader(environment: environment).read()
        #expect(configuration.databaseURL?.value == "postgres://app:first-password@db.internal/app")
        #expect(configuration.notifications.smtpURL?.value == "smtps://mailer:mail-password@mail.internal")
        let version = try #require(created["VersionId"]?.stringValue)
        let report = configuration.report()
        #expect(
            report.contains(
                "BIZ_DATABASE_URL = <redacted> from AWS Secrets Manager: \(prefix)/db, version \(version)"), "\(report)"
        )
        #expect(
            report.contains(
                "BIZ_SMTP_URL = smtps://mailer:***@mail.internal:465 from AWS Secrets Manager: \(prefix)/mail, key url")
        )
        #expect(!report.contains("first-password") && !report.contains("mail-password"))

        // Rotation: the provider reads the new value when it refreshes.
        let secrets = PlatformSecrets(environment: environment)
        #expect(try await secrets.secret("BIZ_DATABASE_URL")?.0.value.contains("first-password") == true)
        _ = try await api.call(
            "PutSecretValue",
            ["SecretId": .string("\(prefix)/db"), "SecretString": "postgres://app:second-password@db.internal/app"])
        #expect(secrets.cached("BIZ_DATABASE_URL")?.0.value.contains("first-password") == true)
        #expect(await secrets.refresh().changed.keys.sorted() == ["BIZ_DATABASE_URL"])
        #expect(secrets.cached("BIZ_DATABASE_URL")?.0.value.contains("second-password") == true)
        await secrets.shutdown()

        // A missing secret or key names the setting and the secret, never a value.
        for (reference, expected) in [
            ("secretsmanager://\(prefix)/nope", "ResourceNotFoundException"),
            ("secretsmanager://\(prefix)/mail#nope", "no text at key nope"),
            ("secretsmanager://\(prefix)/db#url", "is not a JSON object"),
        ] {
            environment["BIZ_DATABASE_URL"] = reference
            let error = await #expect(throws: RuntimeError.self) {
                try await ConfigurationReader(environment: environment).read()
            }
            #expect(error?.description.hasPrefix("BIZ_DATABASE_URL") == true, "\(error?.description ?? "")")
            #expect(error?.description.contains(expected) == true, "\(error?.description ?? "")")
            #expect(error?.description.contains("password") == false)
        }
    }
}
