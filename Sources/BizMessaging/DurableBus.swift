import BizStorage
import Foundation
import Logging
import SQLKit

/// The embedded mode's event log: an append-only table in its own database, with each consumer's progress and the
/// dead letters beside it.
///
/// Messages survive a crash once `publish` returns (the insert is committed with `synchronous=FULL`); a consumer
/// restarts from its last committed offset, so anything not yet handled is delivered after a restart.
public final class DurableBus: EventPublisher, Sendable {
    public let store: any SQLStore
    /// Signalled after every publish so subscriptions wake without polling.
    public let signal = ChangeSignal()

    public init(store: any SQLStore) {
        self.store = store
    }

    public static let migrations: [Migration] = [
        Migration(id: "bus.1.create") { flavor in
            [
                """
                CREATE TABLE bus_messages (
                    "offset" \(flavor.autoIncrementPrimaryKey),
                    event_id TEXT NOT NULL,
                    message_key TEXT NOT NULL,
                    event_type TEXT NOT NULL,
                    body \(flavor.blobType) NOT NULL)
                """,
                "CREATE TABLE bus_consumer_offsets (consumer TEXT PRIMARY KEY, committed_offset BIGINT NOT NULL)",
                """
                CREATE TABLE dead_letters (
                    id \(flavor.autoIncrementPrimaryKey),
                    source TEXT NOT NULL,
                    source_reference TEXT,
                    reason TEXT NOT NULL,
                    body \(flavor.blobType) NOT NULL,
                    received_at TEXT NOT NULL,
                    UNIQUE (source, source_reference))
                """,
            ]
        },
        Migration(id: "bus.2.trace-parent") { _ in [#"ALTER TABLE bus_messages ADD COLUMN trace_parent TEXT"#] },
    ]

    /// The bus stores any message, so it refuses none.
    @discardableResult
    public func publish(_ messages: [OutgoingMessage]) async throws -> [RefusedMessage] {
        guard !messages.isEmpty else { return [] }
        try await store.transaction { database in
            for chunk in messages.chunked(by: 500) {
                var insert = database.insert(into: "bus_messages").columns(
                    "event_id", "message_key", "event_type", "body", "trace_parent")
                for message in chunk {
                    insert = insert.values(
                        SQLBind(message.eventID), SQLBind(message.key), SQLBind(message.eventType),
                        SQLBind(Data(message.body)), SQLBind(message.traceParent)
                    )
                }
                try await insert.run()
            }
        }
        signal.signal()
        return []
    }

    /// Messages after `offset`, oldest first.
    public func fetch(after offset: Int64, limit: Int) async throws -> [DeliveredMessage] {
        try await store.read { database in
            try await database.raw(
                """
                SELECT "offset", event_id, message_key, event_type, body, trace_parent FROM bus_messages
                WHERE "offset" > \(bind: offset) ORDER BY "offset" LIMIT \(bind: limit)
                """
            ).all().map { row in
                DeliveredMessage(
                    offset: try row.decode(column: "offset", as: Int64.self),
                    key: try row.decode(column: "message_key", as: String.self),
                    eventID: try row.decode(column: "event_id", as: String.self),
                    eventType: try row.decode(column: "event_type", as: String.self),
                    body: Array(try row.decode(column: "body", as: Data.self)),
                    traceParent: try row.decode(column: "trace_parent", as: String?.self)
                )
            }
        }
    }

    public func committedOffset(of consumer: String) async throws -> Int64 {
        try await store.read { database in
            try await database.raw(
                "SELECT committed_offset FROM bus_consumer_offsets WHERE consumer = \(bind: consumer)"
            ).first()?.decode(column: "committed_offset", as: Int64.self) ?? 0
        }
    }

    public func commit(offset: Int64, of consumer: String) async throws {
        try await store.transaction { database in
            try await database.raw(
                """
                INSERT INTO bus_consumer_offsets (consumer, committed_offset) VALUES (\(bind: consumer), \(bind: offset))
                ON CONFLICT (consumer) DO UPDATE SET committed_offset = excluded.committed_offset
                """
            ).run()
        }
    }

    /// The number of messages in the log.
    public func count() async throws -> Int64 {
        try await store.read { database in
            try await database.raw(#"SELECT COALESCE(MAX("offset"), 0) AS n FROM bus_messages"#).first()?
                .decode(column: "n", as: Int64.self) ?? 0
        }
    }
}

extension DurableBus: DeadLetterStore {
    public func store(_ letters: [DeadLetter]) async throws {
        guard !letters.isEmpty else { return }
        try await store.transaction { database in
            for letter in letters {
                try await database.raw(
                    """
                    INSERT INTO dead_letters (source, source_reference, reason, body, received_at)
                    VALUES (\(bind: letter.source), \(bind: letter.sourceReference), \(bind: letter.reason),
                            \(bind: Data(letter.body)), \(bind: letter.receivedAt))
                    ON CONFLICT (source, source_reference) DO NOTHING
                    """
                ).run()
            }
        }
    }

    public func list(limit: Int, before: Int64?) async throws -> [DeadLetter] {
        try await store.read { database in
            try await database.raw(
                """
                SELECT id, source, source_reference, reason, body, received_at FROM dead_letters
                WHERE id < \(bind: before ?? Int64.max) ORDER BY id DESC LIMIT \(bind: limit)
                """
            ).all().map { row in
                DeadLetter(
                    id: try row.decode(column: "id", as: Int64.self),
                    source: try row.decode(column: "source", as: String.self),
                    sourceReference: try row.decode(column: "source_reference", as: String?.self),
                    reason: try row.decode(column: "reason", as: String.self),
                    body: Array(try row.decode(column: "body", as: Data.self)),
                    receivedAt: try row.decode(column: "received_at", as: String.self)
                )
            }
        }
    }
}
