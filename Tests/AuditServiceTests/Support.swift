import AuditService
import BizMessaging
import BizOutbox
import BizStorage
import BizTesting
import Logging

let testLogger = Logger(label: "test")

/// A real audit store (SQLite or PostgreSQL) and a SQLite bus in a temporary directory.
struct Pipeline {
    var directory: String
    var auditStore: any SQLStore
    var busStore: SQLiteStore
    var audit: SQLAuditStore
    var bus: DurableBus
    var consumer: AuditConsumer

    static func open(in directory: String, auditStore: any SQLStore) async throws -> Pipeline {
        let busStore = try await SQLiteStore.open(
            path: directory + "/bus.sqlite", migrations: DurableBus.migrations, logger: testLogger
        )
        let audit = SQLAuditStore(store: auditStore)
        let bus = DurableBus(store: busStore)
        return Pipeline(
            directory: directory, auditStore: auditStore, busStore: busStore, audit: audit, bus: bus,
            consumer: AuditConsumer(store: audit, deadLetters: bus, logger: testLogger)
        )
    }

    /// A pipeline whose SQLite audit store lives in `directory` too, so reopening it resumes where it stopped.
    static func open(in directory: String) async throws -> Pipeline {
        let auditStore = try await SQLiteStore.open(
            path: directory + "/audit.sqlite", migrations: SQLAuditStore.migrations, logger: testLogger
        )
        var pipeline = try await open(in: directory, auditStore: auditStore)
        pipeline.ownsAuditStore = true
        return pipeline
    }

    var ownsAuditStore = false

    func close() async throws {
        if ownsAuditStore { try await auditStore.close() }
        try await busStore.close()
    }
}

/// A pipeline whose audit store is `kind` (the bus stays SQLite: it is the embedded mode's event log).
func withPipeline<T>(_ kind: StoreKind = .sqlite, _ body: (Pipeline) async throws -> T) async throws -> T {
    try await TestDatabases.withStore(kind, migrations: SQLAuditStore.migrations) { auditStore in
        try await withTemporaryDirectory { directory in
            let pipeline = try await Pipeline.open(in: directory, auditStore: auditStore)
            do {
                let result = try await body(pipeline)
                try await pipeline.close()
                return result
            } catch {
                try? await pipeline.close()
                throw error
            }
        }
    }
}
