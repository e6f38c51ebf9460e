import BizEvents
import BizTesting
import Foundation
import Synchronization
import Testing

#if Kafka
    import BizKafka
    import BizOutbox
    import BizStorage
    import Logging
#endif

/// Faults of the distributed topology that must not lose data, with the real processes and servers. Each test has
/// its own Kafka and PostgreSQL servers, since it stops them.
extension TopologySuites {
    @Suite("Distributed mode survives its servers' failures", .serialized)
    struct DistributedFaultTests {
        /// A cluster over servers of the test's own.
        func withCluster(
            _ body: (BizRetailCluster, HTTPSClient, String, (kafka: TestServer, postgres: TestServer)) async throws ->
                Void
        ) async throws {
            try await withTemporaryDirectory { directory in
                let kafka = try await TestServer.start(.kafka, directory: directory + "/kafka")
                defer { kafka.remove() }
                let postgres = try await TestServer.start(
                    .postgres, directory: "/tmp/biz-retail-test-pg-\(UUID().uuidString)")
                defer { postgres.remove() }
                let cluster = try await BizRetailCluster(
                    directory: directory + "/cluster", postgres: postgres.address, kafka: kafka.address)
                do {
                    let https = HTTPSClient(cluster)
                    try await body(cluster, https, try await https.adminToken(cluster), (kafka, postgres))
                    try await cluster.stop()
                } catch {
                    try? await cluster.stop()
                    // The services' own lines, not the access lines of the gateway and of each RPC (a test polling
                    // for an outcome writes hundreds): what a stuck relay or consumer said.
                    let lines = cluster.logs().split(separator: "\n").filter {
                        !$0.contains(#""message":"request""#) && !$0.contains(#""message":"rpc""#)
                    }
                    // Every line, for a failure that only a long run shows: BIZ_TEST_FAILURE_LOGS names a directory.
                    if let keep = ProcessInfo.processInfo.environment["BIZ_TEST_FAILURE_LOGS"] {
                        try? Data(cluster.logs().utf8).write(
                            to: URL(fileURLWithPath: keep + "/cluster-\(UUID().uuidString).log"))
                    }
                    throw ProcessFailure("\(error)\n\(lines.suffix(80).joined(separator: "\n"))")
                }
            }
        }

        /// Creates teams through the gateway until stopped; records the ids of the acknowledged ones and any failure.
        final class Writer: Sendable {
            let acknowledged = Mutex<[String]>([])
            let failures = Mutex<[String]>([])
            let running = Atomic<Bool>(true)

            func run(_ https: HTTPSClient, _ token: String) async {
                var index = 0
                while running.load(ordering: .relaxed) {
                    index += 1
                    do {
                        let response = try await https.json(
                            "POST", "/v1/teams", ["name": .string("Team \(index)")], bearer: token)
                        if response.status == 201, let id = response.json?["public_id"]?.stringValue {
                            acknowledged.withLock { $0.append(id) }
                        } else {
                            failures.withLock { $0.append("\(response.status) \(response.text)") }
                        }
                    } catch {
                        failures.withLock { $0.append("\(error)") }
                    }
                    try? await Task.sleep(for: .milliseconds(20))
                }
            }
        }

        /// Every `team.created` the audit trail holds, as the teams' ids (one entry per stored event).
        func auditedTeams(_ https: HTTPSClient, _ token: String) async throws -> [String] {
            var ids: [String] = []
            var pageToken: String?
            repeat {
                var path = "/v1/audit/events?event_type=team.created&page_size=1000"
                if let pageToken { path += "&page_token=\(pageToken)" }
                let response = try await https.request("GET", path, bearer: token)
                guard response.status == 200, case .array(let items)? = response.json?["items"] else {
                    throw ProcessFailure("audit events: \(response.status) \(response.text)")
                }
                ids += items.compactMap { $0["payload"]?["public_id"]?.stringValue }
                pageToken = response.json?["next_page_token"]?.stringValue
            } while pageToken != nil
            return ids
        }

        /// Waits until the audit trail holds exactly the acknowledged teams, each once.
        func expectAuditedExactlyOnce(_ acknowledged: [String], _ https: HTTPSClient, _ token: String) async throws {
            var audited: [String] = []
            try await BizRetailProcess.eventually(timeout: .seconds(90), "\(acknowledged.count) audited teams") {
                audited = try await auditedTeams(https, token)
                return Set(audited).isSuperset(of: acknowledged)
            }
            #expect(audited.count == Set(audited).count, "an event was stored twice")
            #expect(Set(audited) == Set(acknowledged))
        }

        @Test("Kafka stopped for 20 s under steady writes: writes succeed, and every one is audited exactly once")
        func kafkaOutage() async throws {
            try await withCluster { _, https, token, servers in
                let writer = Writer()
                try await withThrowingTaskGroup { tasks in
                    tasks.addTask { await writer.run(https, token) }
                    try await Task.sleep(for: .seconds(2))
                    try await servers.kafka.stop()
                    let before = writer.acknowledged.withLock { $0.count }
                    try await Task.sleep(for: .seconds(20))
                    let during = writer.acknowledged.withLock { $0.count } - before
                    try await servers.kafka.restart()
                    try await Task.sleep(for: .seconds(2))
                    writer.running.store(false, ordering: .relaxed)
                    try await tasks.waitForAll()
                    #expect(during > 20, "writes stalled while Kafka was down (\(during) in 20 s)")
                }
                #expect(writer.failures.withLock { $0 } == [])
                try await expectAuditedExactlyOnce(writer.acknowledged.withLock { $0 }, https, token)
            }
        }

        @Test("the audit process killed with SIGKILL mid-stream and restarted: nothing missing, nothing twice")
        func auditKilled() async throws {
            try await withCluster { cluster, https, token, _ in
                let writer = Writer()
                try await withThrowingTaskGroup { tasks in
                    tasks.addTask { await writer.run(https, token) }
                    try await Task.sleep(for: .seconds(3))
                    try await cluster.process("audit").stop(signal: SIGKILL)
                    try await Task.sleep(for: .seconds(2))
                    try await cluster.start("audit")
                    try await Task.sleep(for: .seconds(2))
                    writer.running.store(false, ordering: .relaxed)
                    try await tasks.waitForAll()
                }
                #expect(writer.failures.withLock { $0 }.allSatisfy { $0.hasPrefix("503") })
                let acknowledged = writer.acknowledged.withLock { $0 }
                try await expectAuditedExactlyOnce(acknowledged, https, token)
                // One version per team: the redelivered events after the kill did not become version 2.
                for id in acknowledged.prefix(20) {
                    let versions = try await https.request(
                        "GET", "/v1/audit/entities/team/\(id)/versions", bearer: token)
                    #expect(versions.json?["items"]?.arrayValue?.count == 1)
                }
            }
        }

        @Test("two audit replicas share the topic; one restarted mid-stream: every event stored once")
        func auditReplicas() async throws {
            try await withCluster { cluster, https, token, _ in
                // A second audit replica joins the group: the partitions are split between the two (a rebalance).
                try await cluster.start("audit", as: "audit-2")
                let writer = Writer()
                try await withThrowingTaskGroup { tasks in
                    tasks.addTask { await writer.run(https, token) }
                    try await Task.sleep(for: .seconds(3))
                    // The replica the gateway does not query restarts; its partitions wait for it (static membership).
                    try await cluster.process("audit-2").stop()
                    try await Task.sleep(for: .seconds(2))
                    try await cluster.start("audit", as: "audit-2")
                    try await Task.sleep(for: .seconds(2))
                    writer.running.store(false, ordering: .relaxed)
                    try await tasks.waitForAll()
                }
                #expect(writer.failures.withLock { $0 } == [])
                try await expectAuditedExactlyOnce(writer.acknowledged.withLock { $0 }, https, token)
                let log = cluster.process("audit-2").log()
                #expect(log.contains("consumer started"))
            }
        }

        @Test("PostgreSQL restarted: requests during the outage get 503 problem+json, and the services reconnect")
        func postgresRestart() async throws {
            try await withCluster { _, https, token, servers in
                #expect(try await https.json("POST", "/v1/teams", ["name": "Before"], bearer: token).status == 201)
                try await servers.postgres.stop()
                let during = try await https.json("POST", "/v1/teams", ["name": "During"], bearer: token)
                #expect(during.status == 503)
                #expect(during.headers["content-type"]?.hasPrefix("application/problem+json") == true)
                #expect(during.json?["status"] == 503)
                let read = try await https.request("GET", "/v1/teams", bearer: token)
                #expect(read.status == 503)
                try await servers.postgres.restart()
                var after: HTTPSClient.Response?
                try await BizRetailProcess.eventually(timeout: .seconds(30), "a write after PostgreSQL is back") {
                    after = try await https.json("POST", "/v1/teams", ["name": "After"], bearer: token)
                    return after?.status == 201
                }
                let id = try #require(after?.json?["public_id"]?.stringValue)
                // Eventually, not quickly: after a long outage (a full parallel run on two cores) PostgresNIO's pool
                // backs off its reconnects (up to 60 s). It once never recovered: the audit consumer's batch was in a
                // transaction when the server stopped, and its ROLLBACK on the closed connection waited for good
                // (postgres-nio writes it to a closed channel without a promise); `OpenConnection` now refuses it.
                try await BizRetailProcess.eventually(
                    timeout: .seconds(240), "the write after the restart to be audited"
                ) {
                    try await https.request("GET", "/v1/audit/entities/team/\(id)/versions", bearer: token).json?[
                        "items"]?
                        .arrayValue?.count == 1
                }
            }
        }

        #if Kafka
            @Test("a poison message on audit lands in audit.dlq with its reason, and consumption goes on")
            func poisonMessage() async throws {
                try await withCluster { cluster, https, token, servers in
                    let prefix = try #require(cluster.sharedEnvironment["BIZ_KAFKA_TOPIC_PREFIX"])
                    let logger = Logger(label: "test.poison")
                    let configuration = KafkaConfiguration(brokers: servers.kafka.address)
                    let producer = try KafkaProducer(configuration: configuration, logger: logger)
                    let results = await producer.send([
                        KafkaRecord(
                            topic: prefix + "audit", key: Array("poison".utf8), value: Array("{\"event_type\": 1".utf8))
                    ])
                    await producer.close()
                    #expect(results.allSatisfy { (try? $0.get()) != nil })

                    let team = try await https.json("POST", "/v1/teams", ["name": "After the poison"], bearer: token)
                    let id = try #require(team.json?["public_id"]?.stringValue)
                    try await BizRetailProcess.eventually("the write after the poison to be audited") {
                        try await https.request("GET", "/v1/audit/entities/team/\(id)/versions", bearer: token).json?[
                            "items"]?
                            .arrayValue?.count == 1
                    }
                    let consumer = try KafkaConsumer(
                        configuration: configuration, groupID: "test-dlq-reader", topics: [prefix + "audit.dlq"],
                        logger: logger)
                    var letters: [KafkaMessage] = []
                    let deadline = ContinuousClock.now + .seconds(20)
                    while letters.isEmpty && ContinuousClock.now < deadline {
                        letters += await consumer.poll(maximum: 10, timeout: .milliseconds(500))
                    }
                    await consumer.close()
                    #expect(letters.count == 1)
                    #expect(letters.first?.value == Array("{\"event_type\": 1".utf8))
                    #expect(letters.first?.header("reason")?.contains("JSON") == true)
                }
            }

            @Test("a record the broker refuses is moved to outbox_dead_letters, and the events after it flow on")
            func refusedRecord() async throws {
                try await withTemporaryDirectory { directory in
                    // The audit topic exists before the cluster starts, with a limit the broker enforces: a team with
                    // a 2,000-byte description makes an event over it; a short one does not.
                    let prefix = "test-" + UUID().uuidString.prefix(8).lowercased() + "."
                    let brokers = try #require(ProcessInfo.processInfo.environment["BIZ_TEST_KAFKA_BROKERS"])
                    try await KafkaAdmin.ensureTopics(
                        [
                            KafkaTopic(
                                name: prefix + "audit", partitions: 3, configuration: ["max.message.bytes": "2500"])
                        ],
                        configuration: KafkaConfiguration(brokers: brokers), logger: Logger(label: "test.refused"))
                    let cluster = try await BizRetailCluster(
                        directory: directory + "/cluster", environment: ["BIZ_KAFKA_TOPIC_PREFIX": prefix])
                    do {
                        let https = HTTPSClient(cluster)
                        let token = try await https.adminToken(cluster)
                        let big = try await https.json(
                            "POST", "/v1/teams",
                            ["name": "Grande", "description": .string(String(repeating: "x", count: 2_000))],
                            bearer: token)
                        #expect(big.status == 201)
                        let bigID = try #require(big.json?["public_id"]?.stringValue)
                        let small = try await https.json("POST", "/v1/teams", ["name": "Pequena"], bearer: token)
                        let smallID = try #require(small.json?["public_id"]?.stringValue)
                        try await BizRetailProcess.eventually("the team after the refused one to be audited") {
                            try await https.request(
                                "GET", "/v1/audit/entities/team/\(smallID)/versions", bearer: token
                            ).json?["items"]?.arrayValue?.count == 1
                        }
                        #expect(
                            try await https.request("GET", "/v1/audit/entities/team/\(bigID)/versions", bearer: token)
                                .status == 404)
                        // The refused event is kept whole in the team service's database, with the broker's reason.
                        let letters = try await PostgresStore.withStore(
                            url: try #require(cluster.databases["team"]), migrations: [],
                            logger: Logger(label: "test.refused")
                        ) { store in
                            try await Outbox(store: store).deadLetters()
                        }
                        #expect(letters.count == 1)
                        let letter = try #require(letters.first)
                        #expect(try EventEnvelope.decode(letter.body).entityID == bigID)
                        #expect(letter.reason.contains("too large"))
                        #expect(cluster.process("team").log().contains("moved to outbox_dead_letters"))
                        try await cluster.stop()
                    } catch {
                        try? await cluster.stop()
                        // The services' own lines, not the gateway's access log: what a stuck relay or consumer said.
                        let lines = cluster.logs().split(separator: "\n").filter {
                            !$0.contains(#""message":"request""#)
                        }
                        // Every line, for a failure that only a long run shows: BIZ_TEST_FAILURE_LOGS names a directory.
                        if let keep = ProcessInfo.processInfo.environment["BIZ_TEST_FAILURE_LOGS"] {
                            try? Data(cluster.logs().utf8).write(
                                to: URL(fileURLWithPath: keep + "/cluster-\(UUID().uuidString).log"))
                        }
                        throw ProcessFailure("\(error)\n\(lines.suffix(80).joined(separator: "\n"))")
                    }
                }
            }
        #endif
    }
}
