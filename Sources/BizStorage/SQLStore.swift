import SQLKit

/// The SQL flavour a store speaks; migrations use it for the few statements that differ.
public enum SQLFlavor: String, Sendable {
    case sqlite
    case postgres
}

/// A service's database: serialised write transactions and concurrent reads.
///
/// `SQLiteStore` (the embedded mode, and `sqlite://` URLs) and `PostgresStore` (the distributed mode) implement it;
/// queries are written with SQLKit so the same text runs on both, and the few statements that differ ask `flavor`.
public protocol SQLStore: Sendable {
    var flavor: SQLFlavor { get }

    /// Runs `body` inside one transaction: committed when it returns, rolled back when it throws.
    func transaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T

    /// Runs a read outside any transaction.
    func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T

    func close() async throws
}

extension SQLStore {
    /// Runs one statement outside any transaction (`CREATE DATABASE`, `VACUUM`).
    public func execute(_ statement: String) async throws {
        try await read { database in try await database.raw(SQLQueryString(statement)).run() }
    }
}

/// One schema change. `id` is unique across every module sharing a database (`outbox.1`, `audit.2`);
/// migrations apply once each, in the order given. `statements` returns the SQL for a flavour.
public struct Migration: Sendable {
    public var id: String
    public var statements: @Sendable (SQLFlavor) -> [String]

    public init(id: String, statements: @escaping @Sendable (SQLFlavor) -> [String]) {
        self.id = id
        self.statements = statements
    }
}

extension SQLFlavor {
    /// An auto-incrementing 64-bit primary key column definition.
    public var autoIncrementPrimaryKey: String {
        switch self {
        case .sqlite: "INTEGER PRIMARY KEY AUTOINCREMENT"
        case .postgres: "BIGSERIAL PRIMARY KEY"
        }
    }

    /// The column type for raw bytes.
    public var blobType: String {
        switch self {
        case .sqlite: "BLOB"
        case .postgres: "BYTEA"
        }
    }
}
