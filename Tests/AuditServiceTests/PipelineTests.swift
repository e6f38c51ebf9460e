import AuditService
import BizEvents
import BizMessaging
import BizOutbox
import BizStorage
import BizTesting
import Foundation
import SQLKit
import ServiceLifecycle
import Testing

@Suite("Outbox, durable bus and audit consumer over SQLite")
struct PipelineTests {
    func message(_ envelope: EventEnvelope) -> OutgoingMessage {
        OutgoingMessage(
            key: envelope.entityID, eventID: envelope.eventID, eventType: envelope.eventType.description,
            body: envelope.encoded()
        )
    }

    @Test("an invalid event goes to the dead-letter store with its reason; the valid ones are stored")
    func deadLetters() async throws {
        try await withPipeline { pipeline in
            let good = SampleEvents.envelope()
            var broken = SampleEvents.object()
            broken["trace_id"] = nil
            try await pipeline.bus.publish([
                OutgoingMessage(key: "k", eventID: "", eventType: "", body: Array("not json".utf8)),
                OutgoingMessage(key: "k", eventID: "", eventType: "", body: JSONValue.object(broken).canonicalBytes()),
                message(good),
            ])
            let batch = try await pipeline.bus.fetch(after: 0, limit: 10)
            try await pipeline.consumer.handle(batch)
            // Redelivery of the same batch stores each dead letter once.
            try await pipeline.consumer.handle(batch)
            let letters = try await pipeline.bus.list(limit: 10, before: nil)
            #expect(letters.count == 2)
            #expect(letters.allSatisfy { $0.source == "audit" })
            #expect(letters.contains { $0.reason.contains("trace_id is missing") })
            #expect(letters.contains { $0.reason.contains("not valid JSON") && $0.body == Array("not json".utf8) })
            #expect(try await pipeline.audit.history(entityType: "account", entityID: good.entityID).count == 1)
        }
    }

    @Test("the outbox row commits with the state change, and rolls back with it")
    func outboxAtomicity() async throws {
        try await withTemporaryDirectory { directory in
            let migrations =
                Outbox.migrations + [
                    Migration(id: "test.1") { _ in ["CREATE TABLE things (id TEXT PRIMARY KEY)"] }
                ]
            let store = try await SQLiteStore.open(
                path: directory + "/svc.sqlite", migrations: migrations, logger: testLogger)
            let outbox = Outbox(store: store)
            let event = SampleEvents.envelope()
            try await outbox.perform { database in
                try await database.raw("INSERT INTO things (id) VALUES ('a')").run()
                return ((), [event])
            }
            await #expect(throws: StorageError.self) {
                try await outbox.perform { database in
                    try await database.raw("INSERT INTO things (id) VALUES ('b')").run()
                    try await database.raw("INSERT INTO things (id) VALUES ('a')").run()  // violates the key
                    return ((), [SampleEvents.envelope()])
                }
            }
            let things = try await store.read { database in
                try await database.raw("SELECT COUNT(*) AS n FROM things").first()!.decode(column: "n", as: Int.self)
            }
            #expect(things == 1)
            #expect(try await outbox.pendingCount() == 1)
            try await store.close()
        }
    }

    @Test("relay and subscription deliver outbox events into the audit store, and a restart resumes")
    func relayAndSubscription() async throws {
        try await withTemporaryDirectory { directory in
            let events = (0..<30).map { index in
                SampleEvents.envelope(entityID: "00000000-0000-4000-8000-0000000000\(10 + index)")
            }
            for run in 0..<2 {
                let pipeline = try await Pipeline.open(in: directory)
                let serviceStore = try await SQLiteStore.open(
                    path: directory + "/svc.sqlite", migrations: Outbox.migrations, logger: testLogger
                )
                let outbox = Outbox(store: serviceStore)
                let slice = run == 0 ? events[0..<20] : events[20..<30]
                try await outbox.perform { _ in ((), Array(slice)) }
                // A redelivered message (the relay died before marking it published) must change nothing.
                if run == 1 { try await pipeline.bus.publish([message(events[0])]) }
                let group = ServiceGroup(
                    services: [
                        OutboxRelay(outbox: outbox, publisher: pipeline.bus, logger: testLogger),
                        BusSubscription(
                            bus: pipeline.bus, consumer: pipeline.consumer, batchSize: 7, logger: testLogger),
                    ],
                    logger: testLogger
                )
                do {
                    try await withThrowingTaskGroup { tasks in
                        tasks.addTask { try await group.run() }
                        // Generous: the whole suite starts at once on two cores.
                        try await BizRetailProcess.eventually(timeout: .seconds(90), "the events to be audited") {
                            let stored = try await pipeline.audit.events(matching: .init(), after: nil, limit: 100)
                            let offset = try await pipeline.bus.committedOffset(of: "audit")
                            return stored.count == (run == 0 ? 20 : 30) && offset == (run == 0 ? 20 : 31)
                        }
                        await group.triggerGracefulShutdown()
                        try await tasks.waitForAll()
                    }
                } catch {
                    // A failure is the test's, not a crash of every test: close the stores before leaving.
                    await group.triggerGracefulShutdown()
                    try? await serviceStore.close()
                    try? await pipeline.close()
                    throw error
                }
                #expect(try await outbox.pendingCount() == 0)
                try await serviceStore.close()
                try await pipeline.close()
            }
            let pipeline = try await Pipeline.open(in: directory)
            let stored = try await pipeline.audit.events(matching: .init(), after: nil, limit: 100)
            #expect(stored.map(\.eventID) == events.map(\.eventID))
            #expect(try await pipeline.audit.history(entityType: "account", entityID: events[0].entityID).count == 1)
            try await pipeline.close()
        }
    }

    /// Runs a relay from a fresh outbox holding `events` into a bus at `busPath`, until `body` returns.
    func withRelay(
        directory: String, events: [EventEnvelope], bus: DurableBus,
        _ body: (Outbox) async throws -> Void
    ) async throws {
        let serviceStore = try await SQLiteStore.open(
            path: directory + "/svc.sqlite", migrations: Outbox.migrations, logger: testLogger
        )
        let outbox = Outbox(store: serviceStore)
        try await outbox.perform { _ in ((), events) }
        let group = ServiceGroup(
            services: [OutboxRelay(outbox: outbox, publisher: bus, logger: testLogger)], logger: testLogger
        )
        try await withThrowingTaskGroup { tasks in
            tasks.addTask { try await group.run() }
            try await body(outbox)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        try await serviceStore.close()
    }

    @Test("a locked bus database delays the relay, which retries; nothing is marked published before delivery")
    func lockedDatabase() async throws {
        try await withTemporaryDirectory { directory in
            let busStore = try await SQLiteStore.open(
                path: directory + "/bus.sqlite", migrations: DurableBus.migrations, busyTimeout: .milliseconds(50),
                logger: testLogger
            )
            let bus = DurableBus(store: busStore)
            // Another process's connection holds the write lock.
            let locker = try await SQLiteStore.open(
                path: directory + "/bus.sqlite", migrations: DurableBus.migrations, logger: testLogger
            )
            let events = (0..<5).map { SampleEvents.envelope(entityID: "00000000-0000-4000-8000-00000000010\($0)") }
            let lockHeld = AsyncLock()
            let lockTaken = AsyncLock()
            await lockHeld.lock()
            await lockTaken.lock()
            let holder = Task {
                try await locker.transaction { database in
                    try await database.raw("INSERT INTO bus_consumer_offsets VALUES ('locker', 0)").run()
                    lockTaken.unlock()
                    await lockHeld.lock()  // until the test releases it
                    lockHeld.unlock()
                }
            }
            await lockTaken.lock()
            try await withRelay(directory: directory, events: events, bus: bus) { outbox in
                try await Task.sleep(for: .milliseconds(600))
                #expect(try await outbox.pendingCount() == 5)
                #expect(try await bus.count() == 0)
                lockHeld.unlock()
                try await holder.value
                try await BizRetailProcess.eventually("delivery after the lock is released") {
                    try await outbox.pendingCount() == 0
                }
            }
            #expect(try await bus.count() == 5)
            try await locker.close()
            try await busStore.close()
        }
    }

    /// A bus whose database is full: SQLite's own page limit stands in for a full disk (writes fail with
    /// SQLITE_FULL) until `PRAGMA max_page_count` is raised.
    static func fullBus(in directory: String) async throws -> (SQLiteStore, DurableBus) {
        let busStore = try await SQLiteStore.open(
            path: directory + "/bus.sqlite", migrations: DurableBus.migrations, logger: testLogger
        )
        let pages = try await busStore.transaction { database in
            try await database.raw("PRAGMA page_count").first()!.decode(column: "page_count", as: Int.self)
        }
        _ = try await busStore.transaction { database in
            try await database.raw("PRAGMA max_page_count = \(unsafeRaw: String(pages))").all()
        }
        return (busStore, DurableBus(store: busStore))
    }

    /// `count` events of 20 kB each, too large for a full bus.
    static func largeEvents(_ count: Int, prefix: String) -> [EventEnvelope] {
        let big: [String: JSONValue] = ["notes": .string(String(repeating: "n", count: 20_000))]
        return (0..<count).map { SampleEvents.envelope(entityID: prefix + "\($0)", payload: big) }
    }

    @Test("a relay that cannot publish stops at a graceful shutdown, its events pending, and delivers them next time")
    func shutdownWhileFailing() async throws {
        try await withTemporaryDirectory { directory in
            let (busStore, bus) = try await Self.fullBus(in: directory)
            let events = Self.largeEvents(3, prefix: "00000000-0000-4000-8000-00000000030")
            let serviceStore = try await SQLiteStore.open(
                path: directory + "/svc.sqlite", migrations: Outbox.migrations, logger: testLogger
            )
            let outbox = Outbox(store: serviceStore)
            try await outbox.perform { _ in ((), events) }
            let group = ServiceGroup(
                services: [OutboxRelay(outbox: outbox, publisher: bus, logger: testLogger)], logger: testLogger
            )
            // The relay is retrying (its backoff reaches 5 s) when the shutdown comes; it must stop, not retry on.
            let stopped = try await withThrowingTaskGroup { tasks in
                tasks.addTask {
                    try await group.run()
                    return true
                }
                tasks.addTask {
                    try await Task.sleep(for: .seconds(30))
                    return false
                }
                try await Task.sleep(for: .seconds(3))
                await group.triggerGracefulShutdown()
                let first = try await tasks.next()!
                tasks.cancelAll()
                return first
            }
            #expect(stopped, "the relay went on retrying after the graceful shutdown")
            #expect(try await outbox.pendingCount() == 3)
            #expect(try await bus.count() == 0)
            _ = try await busStore.transaction { database in
                try await database.raw("PRAGMA max_page_count = 1000000").all()
            }
            try await serviceStore.close()
            try await withRelay(directory: directory, events: [], bus: bus) { outbox in
                try await BizRetailProcess.eventually("delivery at the next start") {
                    try await outbox.pendingCount() == 0
                }
            }
            #expect(try await bus.count() == 3)
            try await busStore.close()
        }
    }

    @Test("a full bus database makes the relay retry until space returns, then delivers each event once")
    func fullDatabase() async throws {
        try await withTemporaryDirectory { directory in
            let (busStore, bus) = try await Self.fullBus(in: directory)
            let events = Self.largeEvents(5, prefix: "00000000-0000-4000-8000-00000000020")
            try await withRelay(directory: directory, events: events, bus: bus) { outbox in
                try await Task.sleep(for: .milliseconds(500))
                #expect(try await outbox.pendingCount() == 5)
                _ = try await busStore.transaction { database in
                    try await database.raw("PRAGMA max_page_count = 1000000").all()
                }
                try await BizRetailProcess.eventually("delivery once space returns") {
                    try await outbox.pendingCount() == 0
                }
            }
            #expect(try await bus.count() == 5)
            try await busStore.close()
        }
    }
}
