import BizEvents
import BizStorage
import SQLKit

/// The audit store over SQL (SQLite in the embedded mode; the same statements run on PostgreSQL).
///
/// Append-only by construction: triggers refuse DELETE on every audit table, refuse UPDATE on stored events, and
/// allow an update of a version only to clear its `is_active` flag.
public struct SQLAuditStore: AuditStore {
    public let store: any SQLStore

    public init(store: any SQLStore) {
        self.store = store
    }

    /// Rows per multi-row statement; keeps every statement well under SQLite's bound-parameter limit.
    static let chunkSize = 400

    public static let migrations: [Migration] = [
        Migration(id: "audit.1.create") { flavor in
            [
                """
                CREATE TABLE audit_events (
                    seq \(flavor.autoIncrementPrimaryKey),
                    event_id TEXT NOT NULL UNIQUE,
                    event_type TEXT NOT NULL,
                    entity_type TEXT NOT NULL,
                    entity_id TEXT NOT NULL,
                    producer_service TEXT NOT NULL,
                    trace_id TEXT NOT NULL,
                    ownership_id TEXT NOT NULL,
                    occurred_at TEXT NOT NULL,
                    received_at TEXT NOT NULL,
                    envelope TEXT NOT NULL)
                """,
                "CREATE INDEX audit_events_trace ON audit_events (trace_id, seq)",
                "CREATE INDEX audit_events_ownership ON audit_events (ownership_id, seq)",
                "CREATE INDEX audit_events_type ON audit_events (event_type, seq)",
                """
                CREATE TABLE audit_versions (
                    id \(flavor.autoIncrementPrimaryKey),
                    entity_id TEXT NOT NULL,
                    entity_type TEXT NOT NULL,
                    version BIGINT NOT NULL,
                    action_type TEXT NOT NULL,
                    action_at TEXT NOT NULL,
                    is_active BOOLEAN NOT NULL,
                    event_id TEXT NOT NULL,
                    UNIQUE (entity_id, entity_type, version))
                """,
                """
                CREATE TABLE ownerships (
                    ownership_id TEXT PRIMARY KEY,
                    subject_entity_type TEXT NOT NULL,
                    subject_entity_id TEXT NOT NULL,
                    first_seen_at TEXT NOT NULL,
                    last_seen_at TEXT NOT NULL,
                    event_count BIGINT NOT NULL)
                """,
                """
                CREATE TABLE ownership_producers (
                    ownership_id TEXT NOT NULL,
                    producer_service TEXT NOT NULL,
                    PRIMARY KEY (ownership_id, producer_service))
                """,
            ] + appendOnlyTriggers(flavor)
        }
    ]

    static func appendOnlyTriggers(_ flavor: SQLFlavor) -> [String] {
        let tables = ["audit_events", "audit_versions", "ownerships", "ownership_producers"]
        // A version may change only by losing is_active; anything else would rewrite history.
        let versionRewrite = """
            NEW.id <> OLD.id OR NEW.entity_id <> OLD.entity_id OR NEW.entity_type <> OLD.entity_type
            OR NEW.version <> OLD.version OR NEW.action_type <> OLD.action_type OR NEW.action_at <> OLD.action_at
            OR NEW.event_id <> OLD.event_id OR (NEW.is_active AND NOT OLD.is_active)
            """
        switch flavor {
        case .sqlite:
            return tables.map { table in
                """
                CREATE TRIGGER \(table)_never_deleted BEFORE DELETE ON \(table)
                BEGIN SELECT RAISE(ABORT, 'audit rows are never deleted'); END
                """
            } + [
                """
                CREATE TRIGGER audit_events_immutable BEFORE UPDATE ON audit_events
                BEGIN SELECT RAISE(ABORT, 'audit events are immutable'); END
                """,
                """
                CREATE TRIGGER audit_versions_immutable BEFORE UPDATE ON audit_versions WHEN \(versionRewrite)
                BEGIN SELECT RAISE(ABORT, 'audit versions are immutable except for deactivation'); END
                """,
            ]
        case .postgres:
            return [
                """
                CREATE FUNCTION audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN RAISE EXCEPTION '%', TG_ARGV[0]; END $$
                """
            ]
                + tables.map { table in
                    """
                    CREATE TRIGGER \(table)_never_deleted BEFORE DELETE OR TRUNCATE ON \(table)
                    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse('audit rows are never deleted')
                    """
                } + [
                    """
                    CREATE TRIGGER audit_events_immutable BEFORE UPDATE ON audit_events
                    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse('audit events are immutable')
                    """,
                    """
                    CREATE TRIGGER audit_versions_immutable BEFORE UPDATE ON audit_versions FOR EACH ROW
                    WHEN (\(versionRewrite))
                    EXECUTE FUNCTION audit_refuse('audit versions are immutable except for deactivation')
                    """,
                ]
        }
    }

    // MARK: Ingestion

    public func ingest(_ records: [AuditRecord]) async throws -> IngestReport {
        guard !records.isEmpty else { return IngestReport() }
        let receivedAt = EventTimestamp.now().rfc3339
        let events = records.map(\.envelope)
        return try await store.transaction { database in
            // 1. Drop redeliveries: events already stored, and repeats within the batch.
            let known = try await Self.storedEventIDs(among: events.map(\.eventID), on: database)
            var seen = known
            var fresh: [Int] = []
            for (index, event) in events.enumerated() where seen.insert(event.eventID).inserted {
                fresh.append(index)
            }
            guard !fresh.isEmpty else { return IngestReport(stored: 0, duplicates: events.count) }

            // 2. Number the new versions after each entity's current head.
            var heads = try await Self.headVersions(of: fresh.map { events[$0] }, on: database)
            let previouslyStored = Set(heads.keys)
            var lastIndex: [EntityKey: Int] = [:]
            for index in fresh { lastIndex[EntityKey(events[index])] = index }

            // 3. The current heads stop being active; so do all but the last new version of each entity.
            try await Self.deactivate(Array(previouslyStored), on: database)

            var eventRows: [SQLQueryString] = []
            var versionRows: [SQLQueryString] = []
            var ownerships: [String: OwnershipDelta] = [:]
            var ownershipOrder: [String] = []
            var producers: Set<ProducerPair> = []
            for index in fresh {
                let event = events[index]
                let key = EntityKey(event)
                let version = (heads[key] ?? 0) + 1
                heads[key] = version
                let action = EventTypeRegistry.standard.action(for: event.eventType)
                    ?? ActionType(rawValue: event.eventType.verb)
                let isActive = lastIndex[key] == index && action != .delete
                let timestamp = event.timestamp.rfc3339
                eventRows.append(
                    """
                    (\(bind: event.eventID), \(bind: event.eventType.description), \(bind: key.type), \
                    \(bind: key.id), \(bind: event.producerService), \(bind: event.traceID), \
                    \(bind: event.metadata.ownershipID), \(bind: timestamp), \(bind: receivedAt), \(bind: records[index].canonicalJSON))
                    """
                )
                versionRows.append(
                    """
                    (\(bind: key.id), \(bind: key.type), \(bind: version), \(bind: action.rawValue), \
                    \(bind: timestamp), \(bind: isActive), \(bind: event.eventID))
                    """
                )
                let ownershipID = event.metadata.ownershipID
                if ownerships[ownershipID] == nil { ownershipOrder.append(ownershipID) }
                ownerships[ownershipID, default: OwnershipDelta(first: event)].add(event)
                producers.insert(ProducerPair(ownershipID: ownershipID, producer: event.producerService))
            }

            for chunk in eventRows.chunked(by: Self.chunkSize) {
                try await database.raw(
                    """
                    INSERT INTO audit_events (event_id, event_type, entity_type, entity_id, producer_service, \
                    trace_id, ownership_id, occurred_at, received_at, envelope) VALUES
                    """ + " " + chunk.joined(separator: ", ")
                ).run()
            }
            for chunk in versionRows.chunked(by: Self.chunkSize) {
                try await database.raw(
                    """
                    INSERT INTO audit_versions (entity_id, entity_type, version, action_type, action_at, \
                    is_active, event_id) VALUES
                    """ + " " + chunk.joined(separator: ", ")
                ).run()
            }
            try await Self.upsertOwnerships(ownershipOrder.map { ownerships[$0]! }, on: database)
            try await Self.insertProducers(Array(producers), on: database)
            return IngestReport(stored: fresh.count, duplicates: events.count - fresh.count)
        }
    }

    struct EntityKey: Hashable {
        var type: String
        var id: String
        init(type: String, id: String) {
            self.type = type
            self.id = id
        }
        init(_ event: EventEnvelope) {
            self.init(type: event.entityType, id: event.entityID)
        }
    }

    struct ProducerPair: Hashable {
        var ownershipID: String
        var producer: String
    }

    struct OwnershipDelta {
        var ownershipID: String
        var subjectType: String
        var subjectID: String
        var first: String
        var last: String
        var count: Int64 = 0

        init(first event: EventEnvelope) {
            ownershipID = event.metadata.ownershipID
            subjectType = event.entityType
            subjectID = event.entityID
            first = event.timestamp.rfc3339
            last = first
        }

        mutating func add(_ event: EventEnvelope) {
            let timestamp = event.timestamp.rfc3339
            first = min(first, timestamp)
            last = max(last, timestamp)
            count += 1
            // The subject is the entity whose id is the ownership id (the person's own record) when one is seen.
            if event.entityID == ownershipID {
                subjectType = event.entityType
                subjectID = event.entityID
            }
        }
    }

    static func storedEventIDs(among ids: [String], on database: any SQLDatabase) async throws -> Set<String> {
        var found: Set<String> = []
        for chunk in ids.chunked(by: chunkSize * 2) {
            let rows = try await database.raw(
                "SELECT event_id FROM audit_events WHERE event_id IN (\(binds: Array(chunk)))"
            ).all()
            for row in rows { found.insert(try row.decode(column: "event_id", as: String.self)) }
        }
        return found
    }

    static func headVersions(of events: [EventEnvelope], on database: any SQLDatabase) async throws -> [EntityKey: Int64]
    {
        let keys = Set(events.map(EntityKey.init))
        let ids = Array(Set(keys.map(\.id)))
        var heads: [EntityKey: Int64] = [:]
        for chunk in ids.chunked(by: chunkSize) {
            // By id alone (one bind each); the rare same id under another entity type is filtered out below.
            let rows = try await database.raw(
                """
                SELECT entity_type, entity_id, MAX(version) AS version FROM audit_versions
                WHERE entity_id IN (\(binds: Array(chunk))) GROUP BY entity_id, entity_type
                """
            ).all()
            for row in rows {
                let key = EntityKey(
                    type: try row.decode(column: "entity_type", as: String.self),
                    id: try row.decode(column: "entity_id", as: String.self)
                )
                if keys.contains(key) { heads[key] = try row.decode(column: "version", as: Int64.self) }
            }
        }
        return heads
    }

    static func deactivate(_ keys: [EntityKey], on database: any SQLDatabase) async throws {
        for chunk in keys.chunked(by: chunkSize) {
            try await database.raw(
                "UPDATE audit_versions SET is_active = FALSE WHERE is_active = TRUE AND (" + matching(chunk) + ")"
            ).run()
        }
    }

    /// `(entity_id = ? AND entity_type = ?) OR …`: portable, and each term is served by the unique index.
    static func matching(_ keys: ArraySlice<EntityKey>) -> SQLQueryString {
        keys.map { key in "(entity_id = \(bind: key.id) AND entity_type = \(bind: key.type))" as SQLQueryString }
            .joined(separator: " OR ")
    }

    static func upsertOwnerships(_ deltas: [OwnershipDelta], on database: any SQLDatabase) async throws {
        for chunk in deltas.chunked(by: chunkSize) {
            let rows = chunk.map { delta -> SQLQueryString in
                """
                (\(bind: delta.ownershipID), \(bind: delta.subjectType), \(bind: delta.subjectID), \
                \(bind: delta.first), \(bind: delta.last), \(bind: delta.count))
                """
            }
            try await database.raw(
                """
                INSERT INTO ownerships (ownership_id, subject_entity_type, subject_entity_id, first_seen_at, \
                last_seen_at, event_count) VALUES
                """ + " " + rows.joined(separator: ", ")
                    + """
                     ON CONFLICT (ownership_id) DO UPDATE SET
                        first_seen_at = CASE WHEN excluded.first_seen_at < ownerships.first_seen_at
                            THEN excluded.first_seen_at ELSE ownerships.first_seen_at END,
                        last_seen_at = CASE WHEN excluded.last_seen_at > ownerships.last_seen_at
                            THEN excluded.last_seen_at ELSE ownerships.last_seen_at END,
                        event_count = ownerships.event_count + excluded.event_count,
                        subject_entity_type = CASE WHEN excluded.subject_entity_id = ownerships.ownership_id
                            THEN excluded.subject_entity_type ELSE ownerships.subject_entity_type END,
                        subject_entity_id = CASE WHEN excluded.subject_entity_id = ownerships.ownership_id
                            THEN excluded.subject_entity_id ELSE ownerships.subject_entity_id END
                    """
            ).run()
        }
    }

    static func insertProducers(_ pairs: [ProducerPair], on database: any SQLDatabase) async throws {
        for chunk in pairs.chunked(by: chunkSize) {
            let rows = chunk.map { "(\(bind: $0.ownershipID), \(bind: $0.producer))" as SQLQueryString }
            try await database.raw(
                "INSERT INTO ownership_producers (ownership_id, producer_service) VALUES "
                    + rows.joined(separator: ", ") + " ON CONFLICT (ownership_id, producer_service) DO NOTHING"
            ).run()
        }
    }
}
