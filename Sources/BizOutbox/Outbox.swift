import BizEvents
import BizMessaging
import BizStorage
import BizTelemetry
import Foundation
import SQLKit
import Tracing

/// The transactional outbox of one service database: events are written in the same transaction as the state
/// change they describe, and ``OutboxRelay`` publishes them afterwards.
public final class Outbox: Sendable {
    public let store: any SQLStore
    /// Signalled after a transaction that wrote events commits, so the relay publishes without waiting to poll.
    public let signal = ChangeSignal()

    public init(store: any SQLStore) {
        self.store = store
    }

    public static let migrations: [Migration] = [
        Migration(id: "outbox.1.create") { flavor in
            [
                """
                CREATE TABLE outbox (
                    seq \(flavor.autoIncrementPrimaryKey),
                    event_id TEXT NOT NULL UNIQUE,
                    message_key TEXT NOT NULL,
                    event_type TEXT NOT NULL,
                    body \(flavor.blobType) NOT NULL,
                    created_at TEXT NOT NULL,
                    published_at TEXT)
                """,
                "CREATE INDEX outbox_pending ON outbox (seq) WHERE published_at IS NULL",
            ]
        },
        Migration(id: "outbox.2.trace") { _ in ["ALTER TABLE outbox ADD COLUMN trace_id TEXT"] },
        // Published rows are deleted, so every row is pending: the column and its partial index went unused.
        Migration(id: "outbox.3.no-published-at") { _ in
            ["DROP INDEX outbox_pending", "ALTER TABLE outbox DROP COLUMN published_at"]
        },
        // Events the event log refused for good (too large for the broker, say): kept here whole, with the reason,
        // so the relay can go on with the next ones and nothing is lost.
        Migration(id: "outbox.4.dead-letters") { flavor in
            [
                """
                CREATE TABLE outbox_dead_letters (
                    seq \(flavor.autoIncrementPrimaryKey),
                    event_id TEXT NOT NULL UNIQUE,
                    message_key TEXT NOT NULL,
                    event_type TEXT NOT NULL,
                    body \(flavor.blobType) NOT NULL,
                    trace_id TEXT,
                    reason TEXT NOT NULL,
                    dead_lettered_at TEXT NOT NULL)
                """
            ]
        },
        // The W3C traceparent of the span that wrote the event, so the relay's and the consumers' spans continue
        // the request's trace.
        Migration(id: "outbox.5.trace-parent") { _ in ["ALTER TABLE outbox ADD COLUMN trace_parent TEXT"] },
    ]

    /// Runs `body` in a transaction of the service's database and writes the events it returns in that same
    /// transaction: both commit, or neither does.
    public func perform<T: Sendable>(
        _ body: @Sendable (any SQLDatabase) async throws -> (T, [EventEnvelope])
    ) async throws -> T {
        let result = try await store.transaction { database in
            let (result, events) = try await body(database)
            try await Self.enqueue(events, on: database)
            return result
        }
        signal.signal()
        return result
    }

    /// Writes events to the outbox on `database`, which must be inside the caller's transaction.
    public static func enqueue(_ events: [EventEnvelope], on database: any SQLDatabase) async throws {
        guard !events.isEmpty else { return }
        try await withSpan("outbox.write", ofKind: .internal) { span in
            span.attributes["messaging.batch.message_count"] = events.count
            // The span's context goes with each row, so the consumers' spans continue the request's trace. An event
            // that names another trace (one an operator published) keeps its own, with a new span id; so does every
            // event without a tracer.
            let spanContext = TraceContext(of: span.context)
            let now = EventTimestamp.now().rfc3339
            for chunk in events.chunked(by: 500) {
                var insert = database.insert(into: "outbox")
                    .columns("event_id", "message_key", "event_type", "body", "created_at", "trace_id", "trace_parent")
                for event in chunk {
                    let parent =
                        spanContext.flatMap { $0.traceID == event.traceID ? $0.traceparent : nil }
                        ?? TraceContext(traceID: event.traceID, spanID: TraceContext.random().spanID).traceparent
                    insert = insert.values(
                        SQLBind(event.eventID), SQLBind(event.entityID), SQLBind(event.eventType.description),
                        SQLBind(Data(event.encoded())), SQLBind(now), SQLBind(event.traceID), SQLBind(parent)
                    )
                }
                try await insert.run()
            }
        }
    }

    struct PendingRow: Sendable {
        var seq: Int64
        var message: OutgoingMessage
    }

    /// Pending rows after `seq`, in order.
    func pending(after seq: Int64 = 0, limit: Int) async throws -> [PendingRow] {
        try await store.read { database in
            try await database.raw(
                """
                SELECT seq, event_id, message_key, event_type, body, trace_id, trace_parent FROM outbox
                WHERE seq > \(bind: seq) ORDER BY seq LIMIT \(bind: limit)
                """
            ).all().map { row in
                PendingRow(
                    seq: try row.decode(column: "seq", as: Int64.self),
                    message: OutgoingMessage(
                        key: try row.decode(column: "message_key", as: String.self),
                        eventID: try row.decode(column: "event_id", as: String.self),
                        eventType: try row.decode(column: "event_type", as: String.self),
                        body: Array(try row.decode(column: "body", as: Data.self)),
                        traceParent: try row.decode(column: "trace_parent", as: String?.self)
                            ?? (try row.decode(column: "trace_id", as: String?.self)).map {
                                TraceContext(traceID: $0, spanID: TraceContext.random().spanID).traceparent
                            }
                    )
                )
            }
        }
    }

    /// How many rows wait to be published, and when the oldest was written.
    public func backlog() async throws -> (pending: Int, oldest: EventTimestamp?) {
        try await store.read { database in
            let row = try await database.raw("SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox").first()
            let pending = try row?.decode(column: "n", as: Int.self) ?? 0
            let oldest = try row?.decode(column: "oldest", as: String?.self).flatMap(EventTimestamp.init(rfc3339:))
            return (pending, oldest)
        }
    }

    /// Removes published rows: the outbox only holds what still has to reach the event log (the log and the audit
    /// store keep the events). Deleting is also far cheaper than updating a row and its indexes.
    func markPublished(_ seqs: [Int64]) async throws {
        let flavor = store.flavor
        try await store.transaction { database in
            switch flavor {
            case .postgres:
                // One statement and one array parameter, whatever the batch size.
                try await database.raw("DELETE FROM outbox WHERE seq = ANY(\(bind: seqs))").run()
            case .sqlite:
                for chunk in seqs.chunked(by: 500) {
                    try await database.delete(from: "outbox")
                        .where(SQLIdentifier("seq"), .in, SQLBind.group(Array(chunk)))
                        .run()
                }
            }
        }
    }

    /// Moves rows the event log refused for good from the outbox to `outbox_dead_letters`, with the reason, in one
    /// transaction: a refused event is never retried again and never lost.
    func deadLetter(_ rows: [PendingRow], reason: String) async throws {
        guard !rows.isEmpty else { return }
        let now = EventTimestamp.now().rfc3339
        try await store.transaction { database in
            for row in rows {
                let message = row.message
                try await database.raw(
                    """
                    INSERT INTO outbox_dead_letters (event_id, message_key, event_type, body, trace_id, reason,
                    dead_lettered_at) VALUES (\(bind: message.eventID), \(bind: message.key), \(bind: message.eventType),
                    \(bind: Data(message.body)), \(bind: message.traceParent.flatMap(TraceContext.init(traceparent:))?.traceID), \(bind: reason), \(bind: now))
                    ON CONFLICT (event_id) DO NOTHING
                    """
                ).run()
                try await database.raw("DELETE FROM outbox WHERE seq = \(bind: row.seq)").run()
            }
        }
    }

    /// The events the event log refused, oldest first.
    public func deadLetters(limit: Int = 100) async throws -> [DeadLetter] {
        try await store.read { database in
            try await database.raw(
                """
                SELECT seq, event_id, body, reason, dead_lettered_at FROM outbox_dead_letters ORDER BY seq
                LIMIT \(bind: limit)
                """
            ).all().map { row in
                DeadLetter(
                    id: try row.decode(column: "seq", as: Int64.self), source: "outbox",
                    sourceReference: try row.decode(column: "event_id", as: String.self),
                    reason: try row.decode(column: "reason", as: String.self),
                    body: Array(try row.decode(column: "body", as: Data.self)),
                    receivedAt: try row.decode(column: "dead_lettered_at", as: String.self))
            }
        }
    }

    /// Whether any row waits to be published (one index probe, cheap to poll).
    public func hasPending() async throws -> Bool {
        try await store.read { database in
            try await database.raw("SELECT seq FROM outbox ORDER BY seq LIMIT 1").first() != nil
        }
    }

    /// Rows written but not yet published (published rows are removed).
    public func pendingCount() async throws -> Int64 {
        try await store.read { database in
            try await database.raw("SELECT COUNT(*) AS n FROM outbox").first()?
                .decode(column: "n", as: Int64.self) ?? 0
        }
    }
}
