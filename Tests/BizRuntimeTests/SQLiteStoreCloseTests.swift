import BizStorage
import BizTesting
import Logging
import SQLKit
import Synchronization
import Testing

/// Closing a SQLite store while its reads and transactions run (a process shutting down under load) waits for them:
/// closing a connection under a running statement is a use after free in SQLite, not an error.
@Suite("SQLite store closed while in use")
struct SQLiteStoreCloseTests {
    static let logger = Logger(label: "test.sqlite-close")

    @Test("close waits for the read and the transaction in progress, which complete; later ones fail as unavailable")
    func closeWaitsForUsers() async throws {
        try await withTemporaryDirectory { directory in
            let store = try await SQLiteStore.open(
                path: directory + "/close.sqlite",
                migrations: [Migration(id: "1") { _ in ["CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)"] }],
                logger: Self.logger)
            let (readStarted, readStarts) = AsyncStream<Void>.makeStream()
            let (writeStarted, writeStarts) = AsyncStream<Void>.makeStream()
            let (readRelease, releaseRead) = AsyncStream<Void>.makeStream()
            let (writeRelease, releaseWrite) = AsyncStream<Void>.makeStream()
            let closed = Flag()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    let count = try await store.read { database in
                        readStarts.yield()
                        for await _ in readRelease { break }
                        return try await database.raw("SELECT count(*) AS n FROM items").first(decoding: Count.self)
                    }
                    #expect(count?.n == 0)
                }
                group.addTask {
                    try await store.transaction { database in
                        writeStarts.yield()
                        for await _ in writeRelease { break }
                        try await database.raw("INSERT INTO items (name) VALUES ('written while closing')").run()
                    }
                }
                for await _ in readStarted { break }
                for await _ in writeStarted { break }
                group.addTask {
                    try await store.close()
                    closed.set()
                }
                try await Task.sleep(for: .milliseconds(200))
                #expect(!closed.isSet, "close returned under a running read")
                releaseRead.yield()
                releaseWrite.yield()
                try await group.waitForAll()
            }
            #expect(closed.isSet)
            for attempt in [
                { try await store.read { _ in } },
                { try await store.transaction { _ in } },
            ] as [@Sendable () async throws -> Void] {
                await #expect(throws: StorageError(code: .unavailable, reason: "the database is closed")) {
                    try await attempt()
                }
            }
            try await store.close()

            // The transaction begun before the close was committed.
            let reopened = try await SQLiteStore.open(
                path: directory + "/close.sqlite", migrations: [], logger: Self.logger)
            let count = try await reopened.read { database in
                try await database.raw("SELECT count(*) AS n FROM items").first(decoding: Count.self)
            }
            #expect(count?.n == 1)
            try await reopened.close()
        }
    }

    struct Count: Decodable { var n: Int }

    final class Flag: Sendable {
        private let value = Atomic(false)
        var isSet: Bool { value.load(ordering: .sequentiallyConsistent) }
        func set() { value.store(true, ordering: .sequentiallyConsistent) }
    }
}
