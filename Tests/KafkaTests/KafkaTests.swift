#if Kafka
    import AuditService
    import BizEvents
    import BizKafka
    import BizMessaging
    import BizStorage
    import BizTesting
    import Foundation
    import Logging
    import ServiceLifecycle
    import Testing

    let logger = Logger(label: "test.kafka")

    /// The Kafka endpoint `scripts/test` starts (`BIZ_TEST_KAFKA_BROKERS`); these tests fail without it.
    func brokers() throws -> KafkaConfiguration {
        let brokers = try #require(
            ProcessInfo.processInfo.environment["BIZ_TEST_KAFKA_BROKERS"],
            "BIZ_TEST_KAFKA_BROKERS (scripts/test sets it)")
        return KafkaConfiguration(brokers: brokers, clientID: "biz-retail-test")
    }

    func uniqueTopic() -> String { "test-" + UUID().uuidString.lowercased() }

    /// Reads batches until `count` messages arrived or `timeout` passed.
    func consume(_ consumer: KafkaConsumer, count: Int, timeout: Duration = .seconds(30)) async -> [KafkaMessage] {
        await withTaskGroup(of: [KafkaMessage].self) { group in
            group.addTask {
                var messages: [KafkaMessage] = []
                for await batch in consumer.batches(maximum: 500) {
                    messages += batch
                    if messages.count >= count { break }
                }
                return messages
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return []
            }
            var messages: [KafkaMessage] = []
            for await result in group {
                messages += result
                group.cancelAll()
            }
            return messages
        }
    }

    /// Drops what it is given.
    struct Discarding: EventConsumer {
        var name: String { "discarding" }
        func apply(_ prepared: [DeliveredMessage]) async throws {}
    }

    @Suite("Kafka through librdkafka, against a real Kafka endpoint")
    struct KafkaTests {
        @Test("records keep key order, headers and bytes; committed offsets are not redelivered to the group")
        func roundTrip() async throws {
            let configuration = try brokers()
            let topic = uniqueTopic()
            try await KafkaAdmin.ensureTopics(
                [KafkaTopic(name: topic, partitions: 3)], configuration: configuration, logger: logger)
            // Creating it again is not an error.
            try await KafkaAdmin.ensureTopics(
                [KafkaTopic(name: topic, partitions: 3)], configuration: configuration, logger: logger)

            let producer = try KafkaProducer(configuration: configuration, logger: logger)
            let records = (0..<300).map { index in
                KafkaRecord(
                    topic: topic, key: Array("entity-\(index % 7)".utf8),
                    value: Array("value-\(index)".utf8) + [0, 255],
                    headers: [("event_id", Array("id-\(index)".utf8)), ("event_type", Array("team.updated".utf8))])
            }
            let results = await producer.send(records)
            #expect(results.allSatisfy { (try? $0.get()) != nil })
            await producer.close()

            let group = "group-" + topic
            let consumer = try KafkaConsumer(
                configuration: configuration, groupID: group, topics: [topic], logger: logger)
            let messages = await consume(consumer, count: 300)
            #expect(messages.count == 300)
            #expect(Set(messages.map(\.partition)).count > 1)
            for key in 0..<7 {
                let values = messages.filter { $0.key == Array("entity-\(key)".utf8) }.map { $0.header("event_id")! }
                #expect(values == (0..<300).filter { $0 % 7 == key }.map { "id-\($0)" })
            }
            let first = try #require(messages.first { $0.header("event_id") == "id-0" })
            #expect(first.value == Array("value-0".utf8) + [0, 255])
            #expect(first.header("event_type") == "team.updated")
            consumer.markProcessed(messages)
            await consumer.close()

            let again = try KafkaConsumer(configuration: configuration, groupID: group, topics: [topic], logger: logger)
            let redelivered = await consume(again, count: 1, timeout: .seconds(6))
            #expect(redelivered.isEmpty)
            await again.close()
        }

        @Test("a consumer in librdkafka's fatal state stops its subscription with the error instead of polling on")
        func fatalConsumer() async throws {
            let configuration = try brokers()
            let topic = uniqueTopic()
            try await KafkaAdmin.ensureTopics(
                [KafkaTopic(name: topic, partitions: 1)], configuration: configuration, logger: logger)
            let consumer = try KafkaConsumer(
                configuration: configuration, groupID: "group-" + topic, instanceID: "replica-1", topics: [topic],
                logger: logger)
            #expect(consumer.fatalError == nil)
            consumer.simulateFatalError(reason: "fenced in a test")
            #expect(consumer.fatalError?.reason.contains("fenced in a test") == true)
            let subscription = KafkaSubscription(kafka: consumer, consumer: Discarding(), logger: logger)
            // Not retried: the subscription (and with it the process) stops, so that a supervisor starts it again.
            await #expect(throws: FatalConsumerError.self) {
                try await subscription.run()
            }
        }

        @Test("the audit consumer stores valid events from the topic and sends a poison message to the DLQ")
        func auditFromKafka() async throws {
            let configuration = try brokers()
            let topic = uniqueTopic()
            let deadLetterTopic = topic + ".dlq"
            try await KafkaAdmin.ensureTopics(
                [KafkaTopic(name: topic, partitions: 2), KafkaTopic(name: deadLetterTopic, partitions: 1)],
                configuration: configuration, logger: logger)
            let producer = try KafkaProducer(configuration: configuration, logger: logger)
            let events = (0..<20).map { index in
                SampleEvents.envelope(entityID: "00000000-0000-4000-8000-0000000001\(10 + index)")
            }
            var messages = events.map {
                OutgoingMessage(
                    key: $0.entityID, eventID: $0.eventID, eventType: $0.eventType.description, body: $0.encoded(),
                    traceParent: "00-\($0.traceID)-00f067aa0ba902b7-01")
            }
            messages.insert(
                OutgoingMessage(key: "poison", eventID: "", eventType: "", body: Array("{not json".utf8)), at: 5)
            // A redelivery, as after a relay crash between publish and mark-published.
            messages.append(messages[0])
            #expect(try await KafkaEventPublisher(producer: producer, topic: topic).publish(messages).isEmpty)

            try await TestDatabases.withStore(.sqlite, migrations: SQLAuditStore.migrations) { store in
                let audit = SQLAuditStore(store: store)
                let consumer = try KafkaConsumer(
                    configuration: configuration, groupID: "audit-" + topic, topics: [topic], logger: logger)
                let subscription = KafkaSubscription(
                    kafka: consumer,
                    consumer: AuditConsumer(
                        store: audit, deadLetters: KafkaDeadLetterStore(producer: producer, topic: deadLetterTopic),
                        logger: logger),
                    batchSize: 7, logger: logger)
                let group = ServiceGroup(services: [subscription], logger: logger)
                try await withThrowingTaskGroup { tasks in
                    tasks.addTask { try await group.run() }
                    try await BizRetailProcess.eventually(timeout: .seconds(30), "the events to be audited") {
                        try await audit.events(matching: .init(), after: nil, limit: 100).count == 20
                    }
                    await group.triggerGracefulShutdown()
                    try await tasks.waitForAll()
                }
                let stored = try await audit.events(matching: .init(), after: nil, limit: 100)
                #expect(Set(stored.map(\.eventID)) == Set(events.map(\.eventID)))
            }

            let dlq = try KafkaConsumer(
                configuration: configuration, groupID: "read-" + deadLetterTopic, topics: [deadLetterTopic],
                logger: logger)
            let letters = await consume(dlq, count: 1)
            await dlq.close()
            await producer.close()
            #expect(letters.count == 1)
            #expect(letters.first?.value == Array("{not json".utf8))
            #expect(letters.first?.header("reason")?.isEmpty == false)
            #expect(letters.first?.header("source_reference")?.hasPrefix(topic + "/") == true)
        }
    }
#endif
