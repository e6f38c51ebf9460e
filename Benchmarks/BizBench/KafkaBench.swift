// kafka-relay and kafka-audit: the distributed mode's event path against a real Kafka endpoint and PostgreSQL,
// each beside kcat producing or consuming the same messages on the same broker (the broker's ceiling here).
#if Kafka
    import AuditService
    import BizEvents
    import BizKafka
    import BizMessaging
    import BizOutbox
    import BizStorage
    import BizTesting
    import Foundation
    import Logging
    import SQLKit
    import ServiceLifecycle

    struct KafkaBenchOptions {
        var events = 100_000
        var batch = 10_000
        var brokers = "127.0.0.1:19092"
        var postgres = "postgres://postgres@127.0.0.1:55432/postgres?sslmode=disable"

        init(_ arguments: ArraySlice<String>) throws {
            var iterator = arguments.makeIterator()
            while let argument = iterator.next() {
                switch argument {
                case "--events": events = Int(iterator.next() ?? "") ?? events
                case "--batch": batch = Int(iterator.next() ?? "") ?? batch
                case "--brokers": brokers = iterator.next() ?? brokers
                case "--postgres": postgres = iterator.next() ?? postgres
                default: throw BenchError("unknown option \(argument)")
                }
            }
        }
    }

    let benchLogger = Logger(label: "biz-bench")

    /// Runs `kcat` with `arguments`, returning the seconds it took.
    func kcat(_ arguments: [String]) async throws -> Double {
        let start = ContinuousClock.now
        let result = try await runProgram("/usr/bin/env", ["kcat"] + arguments)
        guard result.status == 0 else { throw BenchError("kcat failed (apt-get install kcat): \(result.error)") }
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    func freshTopic(_ name: String, _ configuration: KafkaConfiguration) async throws -> String {
        let topic = "bench-\(name)-\(UUID().uuidString.prefix(8).lowercased())"
        try await KafkaAdmin.ensureTopics(
            [KafkaTopic(name: topic, partitions: 6)], configuration: configuration, logger: benchLogger)
        return topic
    }

    /// Writes `key<TAB>body` lines for kcat -K.
    func writeKcatInput(_ source: EventSource, to path: String) throws {
        var text = ""
        for index in 0..<source.count {
            let event = source.event(index)
            text += event.entityID + "\t" + String(decoding: event.encoded(), as: UTF8.self) + "\n"
        }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    func rate(_ count: Int, _ seconds: Double) -> String {
        String(format: "%8.0f/s (%.3f s)", Double(count) / seconds, seconds)
    }

    /// Outbox rows committed in PostgreSQL → the relay → acknowledged Kafka records, rows marked published.
    func kafkaRelay(_ options: KafkaBenchOptions) async throws {
        let configuration = KafkaConfiguration(brokers: options.brokers, clientID: "biz-bench")
        let source = EventSource(count: options.events)
        let url = try await TestDatabases.createPostgresDatabase(on: options.postgres)
        let relaySeconds = try await PostgresStore.withStore(
            url: url, migrations: Outbox.migrations, logger: benchLogger
        ) {
            store in
            let outbox = Outbox(store: store)
            for range in source.batches(of: 1000) {
                let events = range.map(source.event)
                try await store.transaction { database in try await Outbox.enqueue(events, on: database) }
            }
            let bodyBytes = source.event(0).encoded().count
            print("kafka-relay: \(options.events) events of ~\(bodyBytes) bytes, relay batch \(options.batch)")

            let topic = try await freshTopic("relay", configuration)
            let producer = try KafkaProducer(configuration: configuration, logger: benchLogger)
            let relay = OutboxRelay(
                outbox: outbox, publisher: KafkaEventPublisher(producer: producer, topic: topic),
                batchSize: options.batch,
                logger: benchLogger)
            let group = ServiceGroup(services: [relay], logger: benchLogger)
            let relaySeconds = try await measure {
                try await withThrowingTaskGroup { tasks in
                    tasks.addTask { try await group.run() }
                    while try await outbox.hasPending() { try await Task.sleep(for: .milliseconds(10)) }
                    await group.triggerGracefulShutdown()
                    try await tasks.waitForAll()
                }
            }
            await producer.close()
            return relaySeconds
        }
        try await TestDatabases.dropPostgresDatabase(url)

        let input = FileManager.default.temporaryDirectory.appendingPathComponent("biz-bench-kcat.txt").path
        try writeKcatInput(source, to: input)
        // kcat twice: the bare records, and with three headers the size of the relay's (kcat can only send the
        // same headers on every record, but the broker's work per header is the same).
        let event = source.event(0)
        var kcatSeconds: [Double] = []
        for headers in [
            [],
            [
                "event_id=\(event.eventID)", "event_type=account.updated",
                "traceparent=00-\(event.traceID)-0123456789abcdef-01",
            ],
        ] {
            let kcatTopic = try await freshTopic("kcat-produce", configuration)
            kcatSeconds.append(
                try await kcat(
                    [
                        "-P", "-b", options.brokers, "-t", kcatTopic, "-K", "\t", "-l", "-X", "acks=all", "-X",
                        "enable.idempotence=true",
                    ] + headers.flatMap { ["-H", $0] } + [input]))
        }
        try? FileManager.default.removeItem(atPath: input)
        print("  kcat -P, no headers            \(rate(options.events, kcatSeconds[0]))")
        print("  kcat -P, 3 headers (ceiling)   \(rate(options.events, kcatSeconds[1]))")
        print("  outbox → Kafka relay           \(rate(options.events, relaySeconds))")
        print(String(format: "  relay / kcat with headers      %8.1f %%", 100 * kcatSeconds[1] / relaySeconds))
        print(String(format: "  relay / kcat without headers   %8.1f %%", 100 * kcatSeconds[0] / relaySeconds))
    }

    /// The producer alone (no outbox): the same records, with and without the platform's headers.
    func kafkaProduce(_ options: KafkaBenchOptions) async throws {
        let configuration = KafkaConfiguration(brokers: options.brokers, clientID: "biz-bench")
        let source = EventSource(count: options.events)
        let producer = try KafkaProducer(configuration: configuration, logger: benchLogger)
        for withHeaders in [false, true] {
            let topic = try await freshTopic("produce", configuration)
            let records = (0..<source.count).map { index in
                let event = source.event(index)
                return KafkaRecord(
                    topic: topic, key: Array(event.entityID.utf8), value: event.encoded(),
                    headers: withHeaders
                        ? [
                            ("event_id", Array(event.eventID.utf8)), ("event_type", Array("account.updated".utf8)),
                            ("traceparent", Array("00-\(event.traceID)-0123456789abcdef-01".utf8)),
                        ] : [])
            }
            let seconds = try await measure {
                for start in stride(from: 0, to: records.count, by: options.batch) {
                    let results = await producer.send(Array(records[start..<min(start + options.batch, records.count)]))
                    for result in results { try result.get() }
                }
            }
            print("  producer alone, headers \(withHeaders)  \(rate(options.events, seconds))")
        }
        await producer.close()
    }

    /// Kafka records → the audit consumer (KafkaSubscription + AuditConsumer) → PostgreSQL audit store.
    func kafkaAudit(_ options: KafkaBenchOptions) async throws {
        let configuration = KafkaConfiguration(brokers: options.brokers, clientID: "biz-bench")
        let source = EventSource(count: options.events)
        let topic = try await freshTopic("audit", configuration)
        let producer = try KafkaProducer(configuration: configuration, logger: benchLogger)
        let publisher = KafkaEventPublisher(producer: producer, topic: topic)
        for range in source.batches(of: 10_000) {
            _ = try await publisher.publish(
                range.map { index in
                    let event = source.event(index)
                    return OutgoingMessage(
                        key: event.entityID, eventID: event.eventID, eventType: event.eventType.description,
                        body: event.encoded(), traceParent: "00-\(event.traceID)-00f067aa0ba902b7-01")
                })
        }
        print("kafka-audit: \(options.events) events on \(topic), consumer batch \(options.batch)")

        let kcatSeconds = try await kcat([
            "-C", "-b", options.brokers, "-t", topic, "-o", "beginning", "-c", "\(options.events)", "-e", "-q", "-f",
            "%k%s\n",
        ])

        let url = try await TestDatabases.createPostgresDatabase(on: options.postgres)
        let (auditSeconds, peak) = try await PostgresStore.withStore(
            url: url, migrations: SQLAuditStore.migrations, logger: benchLogger
        ) { store in
            let audit = SQLAuditStore(store: store)
            let consumer = try KafkaConsumer(
                configuration: configuration, groupID: "bench-" + topic, topics: [topic], logger: benchLogger)
            let subscription = KafkaSubscription(
                kafka: consumer,
                consumer: AuditConsumer(
                    store: audit, deadLetters: KafkaDeadLetterStore(producer: producer, topic: topic + ".dlq"),
                    logger: benchLogger),
                batchSize: options.batch, logger: benchLogger)
            let group = ServiceGroup(services: [subscription], logger: benchLogger)
            Memory.resetPeak()
            let auditSeconds = try await measure {
                try await withThrowingTaskGroup { tasks in
                    tasks.addTask { try await group.run() }
                    while true {
                        let stored = try await store.read { database in
                            // The newest sequence number (an index probe; a COUNT would scan the table every time).
                            try await database.raw("SELECT seq FROM audit_events ORDER BY seq DESC LIMIT 1").first()?
                                .decode(column: "seq", as: Int.self) ?? 0
                        }
                        if stored >= options.events { break }
                        try await Task.sleep(for: .milliseconds(50))
                    }
                    await group.triggerGracefulShutdown()
                    try await tasks.waitForAll()
                }
            }
            let peak = Memory.peakResidentMB()
            await producer.close()
            return (auditSeconds, peak)
        }
        try await TestDatabases.dropPostgresDatabase(url)
        print("  kcat -C (ceiling)              \(rate(options.events, kcatSeconds))")
        print("  Kafka → audit (PostgreSQL)     \(rate(options.events, auditSeconds))")
        print(String(format: "  peak RSS while ingesting       %8.0f MB", peak))
    }
#endif
