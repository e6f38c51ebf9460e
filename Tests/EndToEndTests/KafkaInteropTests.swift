import BizEvents
import BizTesting
import Foundation
import Testing

/// A third-party Kafka client (Python confluent-kafka) reads what the services produced, validating every record
/// against schemas/event-envelope.schema.json, and what it produces appears in the audit history. The audit process
/// of this cluster keeps its trail in DynamoDB (moto).
extension TopologySuites {
    @Suite("Kafka interoperability with confluent-kafka")
    struct KafkaInteropTests {
        @Test("confluent-kafka validates every produced event against the JSON Schema, and its own event is audited")
        func confluentKafka() async throws {
            try await withTemporaryDirectory { directory in
                let dynamoDB = try #require(
                    ProcessInfo.processInfo.environment["BIZ_TEST_DYNAMODB_ENDPOINT"], "scripts/test starts moto")
                let cluster = try await BizRetailCluster(
                    directory: directory,
                    environment: [
                        "BIZ_AUDIT_STORE":
                            "dynamodb://us-east-1/interop\(UUID().uuidString.prefix(8))_?endpoint=\(dynamoDB)",
                        "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                    ])
                do {
                    let https = HTTPSClient(cluster)
                    let token = try await https.adminToken(cluster)
                    let team = try await https.json("POST", "/v1/teams", ["name": "Interop"], bearer: token)
                    let teamID = try #require(team.json?["public_id"]?.stringValue)
                    let account = try await https.json(
                        "POST", "/v1/accounts",
                        [
                            "name": "João Souza", "document_registry": "529.982.247-25", "email": "joao@example.com",
                            "team_ids": [.string(teamID)],
                        ], bearer: token)
                    let accountID = try #require(account.json?["public_id"]?.stringValue)
                    #expect(
                        try await https.json(
                            "PATCH", "/v1/accounts/\(accountID)", ["name": "João S."], bearer: token,
                            headers: ["If-Match": "\"1\""]
                        ).status == 200)
                    // Every event produced so far has been audited once the update has.
                    try await BizRetailProcess.eventually("the update to be audited") {
                        try await https.request(
                            "GET", "/v1/audit/entities/account/\(accountID)/versions", bearer: token
                        )
                        .json?["items"]?.arrayValue?.count == 2
                    }
                    let produced = try await https.request("GET", "/v1/audit/events?page_size=1000", bearer: token)
                    let count = try #require(produced.json?["items"]?.arrayValue?.count)
                    #expect(count >= 5)  // user.created, client.created ×2, team.created, account.created, …updated

                    let prefix = try #require(cluster.sharedEnvironment["BIZ_KAFKA_TOPIC_PREFIX"])
                    let result = try await runProgram(
                        "/usr/bin/env",
                        [
                            "python3", BizRetailProcess.packageRoot + "/Tests/Interop/kafka_interop.py",
                            "--brokers", try #require(cluster.sharedEnvironment["BIZ_KAFKA_BROKERS"]),
                            "--topic", prefix + "audit",
                            "--schema", BizRetailProcess.packageRoot + "/schemas/event-envelope.schema.json",
                            "--expect", "\(count)",
                        ])
                    let summary = try #require(
                        try? JSONParser.parse(Array(result.output.utf8)), "\(result.output)\n\(result.error)")
                    #expect(result.status == 0, "\(summary["problems"] ?? .null)")
                    #expect((summary["validated"]?.integerValue ?? 0) >= Int64(count))
                    #expect(summary["event_types"]?.arrayValue?.contains("account.updated") == true)

                    let entity = try #require(summary["produced_entity"]?.stringValue)
                    var versions: [JSONValue] = []
                    try await BizRetailProcess.eventually("the confluent-kafka event to be audited") {
                        versions =
                            try await https.request("GET", "/v1/audit/entities/team/\(entity)/versions", bearer: token)
                            .json?["items"]?.arrayValue ?? []
                        return versions.count == 1
                    }
                    #expect(versions.first?["event_id"] == summary["produced_event_id"])
                    #expect(versions.first?["envelope"]?["producer_service"] == "interop_client")
                    try await cluster.stop()
                } catch {
                    try? await cluster.stop()
                    throw ProcessFailure("\(error)\n\(cluster.logs().suffix(4000))")
                }
            }
        }
    }
}
