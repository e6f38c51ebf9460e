import BizStorage
import Foundation
import Logging

/// The database servers a conformance test runs against: SQLite always, PostgreSQL when `BIZ_TEST_POSTGRES_URL`
/// names a server (`scripts/test` starts one and sets it, so CI always runs both).
public enum StoreKind: String, Sendable, CustomStringConvertible {
    case sqlite
    case postgres

    public var description: String { rawValue }

    public static var available: [StoreKind] {
        TestDatabases.postgresURL == nil ? [.sqlite] : [.sqlite, .postgres]
    }
}

public enum TestDatabases {
    public static var postgresURL: String? {
        ProcessInfo.processInfo.environment["BIZ_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    static let logger = Logger(label: "test.databases")

    /// Opens a fresh, empty database of `kind` with `migrations` applied, runs `body`, then closes and removes it.
    public static func withStore<T>(
        _ kind: StoreKind, migrations: [Migration], _ body: (any SQLStore) async throws -> T
    ) async throws -> T {
        switch kind {
        case .sqlite:
            try await withTemporaryDirectory { directory in
                let store = try await SQLiteStore.open(
                    path: directory + "/test.sqlite", migrations: migrations, logger: logger)
                return try await closing(store, body)
            }
        case .postgres:
            try await withPostgresDatabase { url in
                try await PostgresStore.withStore(url: url, migrations: migrations, logger: logger) {
                    try await body($0)
                }
            }
        }
    }

    /// Creates an empty PostgreSQL database on the test server and returns its URL.
    public static func createPostgresDatabase(on server: String? = nil) async throws -> String {
        guard let serverURL = server ?? postgresURL, var components = URLComponents(string: serverURL) else {
            throw StorageError(code: .unavailable, reason: "BIZ_TEST_POSTGRES_URL is not set (scripts/test sets it)")
        }
        let name = "test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try await PostgresStore.withStore(url: serverURL, migrations: [], logger: logger) { admin in
            try await admin.execute("CREATE DATABASE \(name)")
        }
        components.path = "/" + name
        return components.string!
    }

    /// Drops a database `createPostgresDatabase` made, disconnecting whoever still uses it.
    public static func dropPostgresDatabase(_ url: String) async throws {
        guard var components = URLComponents(string: url), components.path.hasPrefix("/test_") else { return }
        let name = components.path.dropFirst()
        components.path = "/postgres"
        let serverURL = components.string!
        try await PostgresStore.withStore(url: serverURL, migrations: [], logger: logger) { admin in
            try await admin.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        }
    }

    /// Creates an empty PostgreSQL database on the test server, passes its URL to `body`, then drops it.
    public static func withPostgresDatabase<T>(_ body: (String) async throws -> T) async throws -> T {
        let url = try await createPostgresDatabase()
        do {
            let result = try await body(url)
            try await dropPostgresDatabase(url)
            return result
        } catch {
            try? await dropPostgresDatabase(url)
            throw error
        }
    }

    private static func closing<T>(_ store: any SQLStore, _ body: (any SQLStore) async throws -> T) async throws -> T {
        do {
            let result = try await body(store)
            try await store.close()
            return result
        } catch {
            try? await store.close()
            throw error
        }
    }
}
