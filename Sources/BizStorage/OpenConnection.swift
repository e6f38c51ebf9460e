import Logging
import NIOCore
import PostgresKit
import PostgresNIO
import SQLKit

/// A leased connection that sends a statement only while it is open, deciding on the connection's event loop.
///
/// postgres-nio (1.33) writes a query to its channel without a promise and waits for the answer: on a channel that
/// has already closed (the server was stopped or restarted), the write fails unseen and the wait never ends. A
/// transaction that failed because the server went away would then hang for good on its `ROLLBACK`, holding its
/// caller (a consumer's batch, a request) forever. Checked and written in the same turn of the event loop, a statement
/// either reaches the connection's handler, which fails it when the connection closes, or fails at once.
struct OpenConnection: PostgresDatabase {
    let connection: PostgresConnection
    let operation: String

    var logger: Logger { connection.logger }
    var eventLoop: any EventLoop { connection.eventLoop }

    func send(_ request: any PostgresRequest, logger: Logger) -> EventLoopFuture<Void> {
        let (connection, request) = (self.connection, Unchecked(request))
        return whileOpen { connection.send(request.value, logger: logger) }
    }

    func withConnection<T>(_ closure: @escaping (PostgresConnection) -> EventLoopFuture<T>) -> EventLoopFuture<T> {
        let (connection, closure) = (self.connection, Unchecked(closure))
        return whileOpen { closure.value(connection) }
    }

    /// Runs one statement of the platform's own (`BEGIN`, `COMMIT`, `ROLLBACK`).
    func run(_ statement: String) async throws {
        let logger = self.logger
        _ = try await withConnection { connection in
            connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
        }.get()
    }

    /// `body`'s future, started on the event loop while the connection is open; failed as unavailable otherwise.
    private func whileOpen<T>(_ body: @escaping () -> EventLoopFuture<T>) -> EventLoopFuture<T> {
        let (connection, body, operation) = (self.connection, Unchecked(body), self.operation)
        // The result travels wrapped: `flatSubmit` wants a `Sendable` one, and `PostgresDatabase` leaves `T` open.
        return connection.eventLoop.flatSubmit { () -> EventLoopFuture<Unchecked<T>> in
            guard !connection.isClosed else {
                return connection.eventLoop.makeFailedFuture(
                    StorageError(
                        code: .unavailable, reason: "could not \(operation): the connection to PostgreSQL was closed"))
            }
            return body.value().map { Unchecked($0) }
        }.map { $0.value }
    }
}

/// A value handed to the connection's event loop and used only there (postgres-nio's closures are not `Sendable`).
private struct Unchecked<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
