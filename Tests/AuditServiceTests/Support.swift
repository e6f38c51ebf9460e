import AuditService
import BizAWS
import BizMessaging
import BizOutbox
import BizStorage
import BizTesting
import Foundation
import Logging
import Testing

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

/// The audit stores the conformance suite runs against: SQLite always, PostgreSQL and DynamoDB (moto) when
/// `scripts/test` started them (`BIZ_TEST_POSTGRES_URL`, `BIZ_TEST_DYNAMODB_ENDPOINT`).
enum AuditStoreKind: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite
    case postgres
    case dynamodb

    var description: String { rawValue }

    static var available: [AuditStoreKind] {
        StoreKind.available.map { AuditStoreKind(rawValue: $0.rawValue)! }
            + (dynamoDBEndpoint == nil ? [] : [.dynamodb])
    }

    static var dynamoDBEndpoint: String? {
        ProcessInfo.processInfo.environment["BIZ_TEST_DYNAMODB_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// An audit store under test, with its SQL database when it has one.
struct AuditUnderTest {
    var audit: any AuditStore
    var sqlStore: (any SQLStore)?
}

/// A fresh, empty audit store of `kind` (DynamoDB: tables under a prefix of their own).
func withAuditStore<T>(_ kind: AuditStoreKind, _ body: (AuditUnderTest) async throws -> T) async throws -> T {
    switch kind {
    case .sqlite, .postgres:
        return try await TestDatabases.withStore(
            StoreKind(rawValue: kind.rawValue)!, migrations: SQLAuditStore.migrations
        ) { store in
            try await body(AuditUnderTest(audit: SQLAuditStore(store: store), sqlStore: store))
        }
    case .dynamodb:
        let endpoint = try #require(AuditStoreKind.dynamoDBEndpoint)
        let prefix = "t" + UUID().uuidString.prefix(8).lowercased() + "_"
        let store = try await DynamoDBAuditStore.open(
            url: "dynamodb://us-east-1/\(prefix)?endpoint=\(endpoint)",
            credentials: AWSCredentials(accessKeyID: "test", secretAccessKey: "test"))
        do {
            let result = try await body(AuditUnderTest(audit: store, sqlStore: nil))
            try await store.close()
            return result
        } catch {
            try? await store.close()
            throw error
        }
    }
}
