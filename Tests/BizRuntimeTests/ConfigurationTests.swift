import BizRuntime
import BizServiceKit
import Foundation
import Testing

/// The one typed configuration: read once, command line over environment over file, secrets never printed.
@Suite("Configuration")
struct ConfigurationTests {
    @Test("defaults are the same whatever the mode")
    func defaults() async throws {
        let configuration = try await ConfigurationReader(environment: [:]).read()
        #expect(configuration.dataDirectory == "./.biz-retail")
        #expect(configuration.grpcPort == 50051)
        #expect(configuration.httpsPort == 8443)
        #expect(configuration.effectiveIssuer == "https://localhost:8443")
        #expect(configuration.identity.bcryptCost == 12)
        #expect(configuration.kafka.partitions == 6)
        #expect(configuration.environmentName == "development")
    }

    @Test("the command line wins over the environment, which wins over the file")
    func precedence() async throws {
        try await withTemporaryFile(#"{"grpc": {"port": 7000}, "https": {"port": 7001}, "environment": "file"}"#) {
            file in
            let configuration = try await ConfigurationReader(
                commandLine: ["grpc.port": "9000"],
                environment: ["BIZ_GRPC_PORT": "8000", "BIZ_HTTPS_PORT": "8001", "BIZ_CONFIG_FILE": file]
            ).read()
            #expect(configuration.grpcPort == 9000)
            #expect(configuration.httpsPort == 8001)
            #expect(configuration.environmentName == "file")
        }
    }

    @Test("every BIZ_* variable lands in its typed field")
    func environment() async throws {
        let configuration = try await ConfigurationReader(
            environment: [
                "BIZ_KAFKA_BROKERS": "k:9092", "BIZ_KAFKA_TOPIC_PREFIX": "dev.",
                "BIZ_KAFKA_PROPERTY_SECURITY_PROTOCOL": "SSL",
                "BIZ_TEAM_ADDRESS": "10.0.0.2:50052", "BIZ_BCRYPT_COST": "4",
                "BIZ_TRUSTED_PROXIES": "10.0.0.1, 10.0.0.9",
                "BIZ_AUDIT_STORE": "dynamodb://us-east-1/p_", "AWS_ACCESS_KEY_ID": "AKID",
                "BIZ_GATEWAY_CLIENT_SECRET": "s3cret-value",
            ]
        ).read()
        #expect(configuration.kafka.brokers == "k:9092")
        #expect(configuration.kafka.topicPrefix == "dev.")
        #expect(configuration.kafka.properties["security.protocol"]?.value == "SSL")
        #expect(configuration.addresses["team"] == ServiceAddress(host: "10.0.0.2", port: 50052))
        #expect(configuration.identity.bcryptCost == 4)
        #expect(configuration.gateway.trustedProxies == ["10.0.0.1", "10.0.0.9"])
        #expect(configuration.audit.store?.value == "dynamodb://us-east-1/p_")
        #expect(configuration.audit.awsAccessKeyID == "AKID")
        #expect(configuration.serviceClientSecrets["gateway"]?.value == "s3cret-value")
    }

    @Test(
        "a malformed value is refused naming the setting",
        arguments: [
            ("BIZ_GRPC_PORT", "70000"), ("BIZ_BCRYPT_COST", "99"), ("BIZ_TEAM_ADDRESS", "nowhere"),
            ("BIZ_INSTANCE_ID", "not-a-uuid"), ("BIZ_KAFKA_PARTITIONS", "many"), ("BIZ_LOG_LEVEL", "loud"),
        ])
    func malformed(_ name: String, _ value: String) async throws {
        let error = await #expect(throws: RuntimeError.self) {
            try await ConfigurationReader(environment: [name: value]).read()
        }
        #expect(error?.description.contains(name) == true, "\(error?.description ?? "")")
        #expect(error?.description.contains(value) == false)
    }

    @Test("the report shows where secrets are set, never their values")
    func report() async throws {
        let report = try await ConfigurationReader(
            environment: [
                "BIZ_MASTER_KEY": "bWFzdGVyLWtleS1zZWNyZXQ=", "BIZ_BOOTSTRAP_ADMIN_PASSWORD": "hunter2-hunter2",
                "BIZ_DATABASE_URL": "postgres://u:pw-secret@h/db", "BIZ_KAFKA_PROPERTY_SASL_PASSWORD": "kafka-secret",
            ]
        ).read().report()
        #expect(report.contains("BIZ_MASTER_KEY = <redacted>"))
        #expect(report.contains("BIZ_DATABASE_URL = <redacted>"))
        #expect(report.contains("BIZ_KAFKA_PROPERTY_SASL_PASSWORD = <redacted>"))
        #expect(report.contains("BIZ_GATEWAY_CLIENT_SECRET = <derived from the master key>"))
        for secret in ["bWFzdGVyLWtleS1zZWNyZXQ=", "hunter2", "pw-secret", "kafka-secret"] {
            #expect(!report.contains(secret))
        }
    }

    func withTemporaryFile<T>(_ contents: String, _ body: (String) async throws -> T) async throws -> T {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("biz-config-\(UUID()).json").path
        try Data(contents.utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try await body(path)
    }
}
