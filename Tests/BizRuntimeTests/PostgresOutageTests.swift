import BizStorage
import BizTesting
import Foundation
import Logging
import Synchronization
import Testing

/// A PostgreSQL server of the test's own, stopped while the store is busy: every call in flight ends with an error
/// (none waits for good on a connection the server closed), and the store works again once the server is back.
@Suite("PostgreSQL outage", .enabled(if: TestDatabases.postgresURL != nil))
struct PostgresOutageTests {
    static let logger = Logger(label: "test.outage")

    @Test("transactions in flight when the server stops end with an error; after the restart the store works")
    func inFlight() async throws {
        let server = try await TestServer.start(.postgres, directory: "/tmp/biz-retail-test-pg-\(UUID().uuidString)")
        defer { server.remove() }
        try await PostgresStore.withStore(url: server.address, migrations: [], logger: Self.logger) { store in
            try await store.execute("CREATE TABLE things (id INT PRIMARY KEY)")
            // More calls than the pool's 8 connections: some hold a connection when the server stops, the rest wait
            // for one. Unstructured, so that a call that never ends (postgres-nio's ROLLBACK on a closed connection
            // did) fails the test instead of hanging it.
            let outcomes = Outcomes()
            for index in 0..<12 {
                Task {
                    let outcome: String
                    do {
                        try await store.transaction { database in
                            try await database.raw("INSERT INTO things VALUES (\(unsafeRaw: String(index)))").run()
                            try await database.raw("SELECT pg_sleep(3)").run()
                        }
                        outcome = "committed"
                    } catch {
                        outcome = "\(error)"
                    }
                    outcomes.value.withLock { $0[index] = outcome }
                }
            }
            try await Task.sleep(for: .milliseconds(700))
            try await server.stop()
            try await Task.sleep(for: .seconds(1))
            try await server.restart()
            try await BizRetailProcess.eventually(timeout: .seconds(30), "every call in flight to end") {
                outcomes.value.withLock { $0.count } == 12
            }
            let ended = outcomes.value.withLock { $0 }
            // A call still waiting for a connection when the server is back may commit.
            #expect(ended.values.allSatisfy { $0 == "committed" || $0.contains("unavailable") }, "\(ended)")
            let committed = ended.values.count { $0 == "committed" }
            try await BizRetailProcess.eventually(timeout: .seconds(60), "the store to work again") {
                (try? await store.execute("INSERT INTO things VALUES (100)")) != nil
            }
            #expect(try await store.read { try await $0.raw("SELECT id FROM things").all().count } == committed + 1)
        }
    }
}

private final class Outcomes: Sendable {
    let value = Mutex<[Int: String]>([:])
}
