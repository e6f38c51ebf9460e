import AuditService
import BizMessaging
import BizOutbox
import BizStorage
import BizTesting
import Logging

let testLogger = Logger(label: "test")

/// A real SQLite audit store and bus in a temporary directory.
struct Pipeline {
    var directory: String
    var auditStore: SQLiteStore
    var busStore: SQLiteStore
    var audit: SQLAuditStore
    var bus: DurableBus
    var consumer: AuditConsumer

    static func open(in directory: String) async throws -> Pipeline {
        let auditStore = try await SQLiteStore.open(
            path: directory + "/audit.sqlite", migrations: SQLAuditStore.migrations, logger: testLogger
        )
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

    func close() async throws {
        try await auditStore.close()
        try await busStore.close()
    }
}

func withPipeline<T>(_ body: (Pipeline) async throws -> T) async throws -> T {
    try await withTemporaryDirectory { directory in
        let pipeline = try await Pipeline.open(in: directory)
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
