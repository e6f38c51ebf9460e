import Logging
import NIOCore
import NIOPosix
import SQLKit
import SQLiteKit
import SQLiteNIO

/// A SQLite database file in WAL mode: one writer connection (transactions serialised) and one reader.
public final class SQLiteStore: SQLStore {
    public let flavor = SQLFlavor.sqlite
    public let path: String
    private let writer: SQLiteConnection
    private let readerConnection: SQLiteConnection
    private let writeLock = AsyncLock()
    /// Reads and transactions in progress: ``close()`` waits for them.
    private let users = UseGate()
    private let logger: Logger
    private let instruments: StoreInstruments

    private init(path: String, writer: SQLiteConnection, reader: SQLiteConnection, logger: Logger) {
        self.path = path
        self.instruments = StoreInstruments(
            system: "sqlite", database: String(path.split(separator: "/").last ?? ""), connections: 2)
        self.writer = writer
        self.readerConnection = reader
        self.logger = logger
    }

    /// Opens (creating if needed) the database at `path` and applies `migrations` that have not run yet.
    ///
    /// `busyTimeout` is how long a statement waits for another process's lock before failing as `.unavailable`.
    public static func open(
        path: String, migrations: [Migration], busyTimeout: Duration = .seconds(5), logger: Logger
    ) async throws -> SQLiteStore {
        let busyMilliseconds =
            busyTimeout.components.seconds * 1000 + busyTimeout.components.attoseconds / 1_000_000_000_000_000
        let writer: SQLiteConnection
        let reader: SQLiteConnection
        do {
            writer = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
            // WAL lets readers run beside the writer; FULL makes every commit durable, so an acknowledged
            // event survives a power cut, not only a crash.
            for pragma in [
                "PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON",
                "PRAGMA busy_timeout=\(busyMilliseconds)",
            ] {
                _ = try await writer.query(pragma)
            }
            reader = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
            _ = try await reader.query("PRAGMA busy_timeout=\(busyMilliseconds)")
        } catch {
            throw StorageError(sqlite: error, operation: "open the database")
        }
        let store = SQLiteStore(path: path, writer: writer, reader: reader, logger: logger)
        try await store.migrate(migrations)
        return store
    }

    public func transaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await users.using(orThrow: Self.closed) {
            try await writeLock.withLock {
                try await instruments.transaction { try await transactionHoldingLock(body) }
            }
        }
    }

    private func transactionHoldingLock<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T)
        async throws -> T
    {
        let database = writer.sql(queryLogLevel: .trace)
        do {
            _ = try await writer.query("BEGIN IMMEDIATE")
        } catch {
            throw StorageError(sqlite: error, operation: "begin a transaction")
        }
        do {
            let result = try await body(database)
            _ = try await writer.query("COMMIT")
            return result
        } catch {
            // Not cancelled with the caller's task: a transaction left open would refuse every later BEGIN.
            let writer = writer
            _ = await Task { try? await writer.query("ROLLBACK") }.value
            // Domain errors thrown by `body` pass through unchanged; only SQLite's are classified.
            guard error is SQLiteError else { throw error }
            throw StorageError(sqlite: error, operation: "run a transaction")
        }
    }

    public func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await users.using(orThrow: Self.closed) {
            do {
                return try await instruments.holding { try await body(readerConnection.sql(queryLogLevel: .trace)) }
            } catch let error as SQLiteError {
                throw StorageError(sqlite: error, operation: "read")
            }
        }
    }

    /// Closes both connections once the reads and transactions in progress are over; later ones fail as
    /// `unavailable` (``closed``).
    public func close() async throws {
        guard await users.close() else { return }
        try await readerConnection.close()
        try await writer.close()
    }

    /// What a read or a transaction after ``close()`` throws.
    static let closed = StorageError(code: .unavailable, reason: "the database is closed")

    private func migrate(_ migrations: [Migration]) async throws {
        try await transaction { database in
            try await Migrator.applyPending(migrations, flavor: .sqlite, on: database, logger: logger)
        }
    }
}

/// Applies migrations not yet recorded in `schema_migrations`, in the order given.
enum Migrator {
    /// Runs on `database` inside the caller's transaction, so the pending migrations apply together or not at all.
    static func applyPending(
        _ migrations: [Migration], flavor: SQLFlavor, on database: any SQLDatabase, logger: Logger
    ) async throws {
        try await database.raw(
            "CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
        ).run()
        let applied = try await database.raw("SELECT id FROM schema_migrations").all().map {
            try $0.decode(column: "id", as: String.self)
        }
        let appliedIDs = Set(applied)
        for migration in migrations where !appliedIDs.contains(migration.id) {
            for statement in migration.statements(flavor) {
                try await database.raw(SQLQueryString(statement)).run()
            }
            try await database.insert(into: "schema_migrations")
                .columns("id", "applied_at")
                .values(SQLBind(migration.id), SQLBind(Self.now()))
                .run()
            logger.debug("applied migration", metadata: ["migration": "\(migration.id)"])
        }
    }

    static func now() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return "\(spec.tv_sec)"
    }
}

extension StorageError {
    /// Classifies a SQLite (or already classified) error without copying its message, which may hold SQL text.
    init(sqlite error: any Error, operation: String) {
        if let storageError = error as? StorageError {
            self = storageError
            return
        }
        guard let sqliteError = error as? SQLiteError else {
            self.init(code: .failure, reason: "could not \(operation): \(type(of: error))")
            return
        }
        let code: Code
        switch sqliteError.reason {
        case .busy, .locked, .full, .ioError, .cantOpen, .busyTimeout, .busyInRecovery, .busyInSnapshot,
            .ioErrorFailedWrite, .ioErrorFailedSync, .ioErrorFailedRead, .readOnly:
            code = .unavailable
        case .constraint, .constraintCheckFailed, .constraintForeignKeyFailed, .constraintNotNullFailed,
            .constraintPrimaryKeyFailed, .constraintUniqueFailed, .constraintTriggerFailed:
            code = .constraint
        case .abort:
            code = .refused
        default:
            code = .failure
        }
        if sqliteError.message.contains("never deleted") || sqliteError.message.contains("immutable") {
            self.init(
                code: .refused, reason: "could not \(operation): the store refuses this change (\(sqliteError.message))"
            )
        } else {
            self.init(code: code, reason: "could not \(operation): SQLite \(sqliteError.reason)")
        }
    }
}

#if canImport(Glibc)
    import Glibc
#endif
