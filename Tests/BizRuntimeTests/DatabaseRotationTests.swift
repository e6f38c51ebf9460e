import BizStorage
import BizTesting
import Foundation
import Logging
import Testing

/// A PostgreSQL pool takes a rotated password for its new connections without a restart, on the tests' real server.
@Suite("Database credentials rotation", .enabled(if: TestDatabases.postgresURL != nil))
struct DatabaseRotationTests {
    static let logger = Logger(label: "test.rotation")

    /// `url` with `user` and `password` in place of its credentials.
    static func url(_ url: String, user: String, password: String) throws -> String {
        var components = try #require(URLComponents(string: url))
        components.user = user
        components.password = password
        return try #require(components.string)
    }

    @Test("a rotated password is used for new connections without a restart; a URL naming another database is refused")
    func rotatedPassword() async throws {
        let server = try #require(TestDatabases.postgresURL)
        let role = "rotation_" + UUID().uuidString.prefix(8).lowercased()
        let database = try await TestDatabases.createPostgresDatabase()
        let name = String(try #require(URLComponents(string: database)).path.dropFirst())
        try await PostgresStore.withStore(url: server, migrations: [], logger: Self.logger) { admin in
            try await admin.execute("CREATE ROLE \(role) LOGIN PASSWORD 'first-password'")
            try await admin.execute("ALTER DATABASE \(name) OWNER TO \(role)")
        }
        func admin(_ sql: String) async throws {
            try await PostgresStore.withStore(url: server, migrations: [], logger: Self.logger) { admin in
                try await admin.execute(sql)
            }
        }
        /// Closes every connection the role has open, so that the next query needs a new one.
        func disconnect() async throws {
            try await admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '\(role)'")
        }
        do {
            try await check(database: database, name: name, role: role, admin: admin, disconnect: disconnect)
        } catch {
            try? await TestDatabases.dropPostgresDatabase(database)
            try? await admin("DROP ROLE IF EXISTS \(role)")
            throw error
        }
        try await TestDatabases.dropPostgresDatabase(database)
        try await admin("DROP ROLE IF EXISTS \(role)")
    }

    func check(
        database: String, name: String, role: String, admin: (String) async throws -> Void,
        disconnect: () async throws -> Void
    ) async throws {
        let store = try PostgresStore(
            url: try Self.url(database, user: role, password: "first-password"), logger: Self.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await store.run() }
            defer { group.cancelAll() }
            try await store.execute("CREATE TABLE notes (body TEXT)")
            try await store.execute("INSERT INTO notes VALUES ('before')")

            // The password changes on the server: open connections keep working, new ones are refused.
            try await admin("ALTER ROLE \(role) PASSWORD 'second-password'")
            try await disconnect()
            await #expect(throws: StorageError.self) { try await store.execute("INSERT INTO notes VALUES ('lost')") }

            // The store reads the rotated URL: new connections log in with the new password.
            try store.reconnect(url: try Self.url(database, user: role, password: "second-password"))
            try await store.execute("INSERT INTO notes VALUES ('after')")
            try await disconnect()
            // The pool may lend a closed connection once more before it sees the server's goodbye (any client of a
            // server that drops its connections sees this); what follows opens new ones, with the new password.
            var attempts = 0
            while true {
                do {
                    try await store.execute("INSERT INTO notes VALUES ('reconnected')")
                    break
                } catch let error as StorageError {
                    attempts += 1
                    if attempts == 5 { throw error }
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            let count = try await store.read { database in
                try await database.raw("SELECT count(*) AS n FROM notes").first()?.decode(column: "n", as: Int.self)
            }
            #expect(count == 3)

            // Only the credentials may change while running.
            let elsewhere = try Self.url(
                database.replacingOccurrences(of: name, with: "postgres"), user: role, password: "second-password")
            #expect(throws: StorageError.self) { try store.reconnect(url: elsewhere) }
        }
    }
}
