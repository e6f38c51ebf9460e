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
    public static let chunkSize = 400

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
                    entity_key TEXT NOT NULL,
                    entity_id TEXT NOT NULL,
                    entity_type TEXT NOT NULL,
                    version BIGINT NOT NULL,
                    action_type TEXT NOT NULL,
                    action_at TEXT NOT NULL,
                    is_active BOOLEAN NOT NULL,
                    event_id TEXT NOT NULL,
                    UNIQUE (entity_key, version))
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
        },
        // Each event records its tenant. Events stored before carry it in their envelope (`metadata.tenant_id`, or
        // the payload's `tenant_id`): this one-time backfill lifts the no-update rule for its own transaction only.
        Migration(id: "audit.2.tenant") { flavor in
            let add = [
                "ALTER TABLE audit_events ADD COLUMN tenant_id TEXT NOT NULL DEFAULT ''",
                "CREATE INDEX audit_events_tenant ON audit_events (tenant_id, seq)",
            ]
            switch flavor {
            case .sqlite:
                return add + [
                    "DROP TRIGGER audit_events_immutable",
                    """
                    UPDATE audit_events SET tenant_id = COALESCE(json_extract(envelope, '$.metadata.tenant_id'),
                        json_extract(envelope, '$.payload.tenant_id'), '')
                    """,
                    """
                    CREATE TRIGGER audit_events_immutable BEFORE UPDATE ON audit_events
                    BEGIN SELECT RAISE(ABORT, 'audit events are immutable'); END
                    """,
                ]
            case .postgres:
                return add + [
                    "ALTER TABLE audit_events DISABLE TRIGGER audit_events_immutable",
                    """
                    UPDATE audit_events SET tenant_id = COALESCE(envelope::jsonb #>> '{metadata,tenant_id}',
                        envelope::jsonb #>> '{payload,tenant_id}', '')
                    """,
                    "ALTER TABLE audit_events ENABLE TRIGGER audit_events_immutable",
                ]
            }
        },
    ]

    static func appendOnlyTriggers(_ flavor: SQLFlavor) -> [String] {
        let tables = ["audit_events", "audit_versions", "ownerships", "ownership_producers"]
        // A version may change only by losing is_active; anything else would rewrite history.
        let versionRewrite = """
            NEW.id <> OLD.id OR NEW.entity_key <> OLD.entity_key OR NEW.entity_id <> OLD.entity_id
            OR NEW.entity_type <> OLD.entity_type
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
        let flavor = store.flavor
        return try await store.transaction { database in
            // 1. Store the events, skipping redeliveries: repeats within the batch here, events already stored by
            //    the unique event_id (the rows RETURNING reports are the ones that were new).
            var seen: Set<String> = []
            let unique = events.indices.filter { seen.insert(events[$0].eventID).inserted }
            var inserted: Set<String> = []
            for chunk in unique.chunked(by: Self.chunkSize(flavor)) {
                let batch = chunk.map { events[$0] }
                let source = Self.rows(
                    flavor,
                    [
                        .text(batch.map(\.eventID)), .text(batch.map(\.eventType.description)),
                        .text(batch.map(\.entityType)), .text(batch.map(\.entityID)),
                        .text(batch.map(\.producerService)), .text(batch.map(\.traceID)),
                        .text(batch.map(\.metadata.ownershipID)), .text(batch.map(\.tenantID)),
                        .text(batch.map(\.timestamp.rfc3339)), .text(Array(repeating: receivedAt, count: batch.count)),
                        .text(chunk.map { records[$0].canonicalJSON }),
                    ])
                let returned = try await database.raw(
                    """
                    INSERT INTO audit_events (event_id, event_type, entity_type, entity_id, producer_service, \
                    trace_id, ownership_id, tenant_id, occurred_at, received_at, envelope) \(source) \
                    ON CONFLICT (event_id) DO NOTHING RETURNING event_id
                    """
                ).all()
                for row in returned { inserted.insert(try row.decode(column: "event_id", as: String.self)) }
            }
            let fresh = unique.filter { inserted.contains(events[$0].eventID) }
            guard !fresh.isEmpty else { return IngestReport(stored: 0, duplicates: events.count) }

            // 2. The current heads stop being active, and number the new versions after them. All but the last new
            //    version of each entity in the batch are stored inactive.
            let keys = Set(fresh.map { EntityKey(events[$0]) })
            if flavor == .postgres {
                // Concurrent ingesters (replicas during a rebalance) must not number the same entity's versions
                // at once: each transaction holds a lock per entity until it commits, taken in one order so two
                // transactions cannot deadlock. SQLite has a single writer already.
                try await database.raw(
                    """
                    SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT hashtextextended(k, 7236025418) AS h
                    FROM unnest(ARRAY[\(binds: keys.map(\.storageKey))]::text[]) AS k ORDER BY h) AS locks
                    """
                ).run()
            }
            var heads = try await Self.deactivateHeads(of: keys, flavor: flavor, on: database)
            var lastIndex: [EntityKey: Int] = [:]
            for index in fresh { lastIndex[EntityKey(events[index])] = index }

            var versionRows: [VersionRow] = []
            var ownerships: [String: OwnershipDelta] = [:]
            var ownershipOrder: [String] = []
            var producers: Set<ProducerPair> = []
            for index in fresh {
                let event = events[index]
                let key = EntityKey(event)
                let version = (heads[key] ?? 0) + 1
                heads[key] = version
                let action = records[index].action
                let isActive = lastIndex[key] == index && action != .delete
                let timestamp = event.timestamp.rfc3339
                versionRows.append(
                    VersionRow(
                        key: key, version: version, action: action.rawValue, timestamp: timestamp, isActive: isActive,
                        eventID: event.eventID))
                let ownershipID = event.metadata.ownershipID
                if ownerships[ownershipID] == nil { ownershipOrder.append(ownershipID) }
                ownerships[ownershipID, default: OwnershipDelta(first: event)].add(event)
                producers.insert(ProducerPair(ownershipID: ownershipID, producer: event.producerService))
            }

            for chunk in versionRows.chunked(by: Self.chunkSize(flavor)) {
                let source = Self.rows(
                    flavor,
                    [
                        .text(chunk.map(\.key.storageKey)), .text(chunk.map(\.key.id)), .text(chunk.map(\.key.type)),
                        .bigint(chunk.map(\.version)), .text(chunk.map(\.action)), .text(chunk.map(\.timestamp)),
                        .bool(chunk.map(\.isActive)), .text(chunk.map(\.eventID)),
                    ])
                try await database.raw(
                    """
                    INSERT INTO audit_versions (entity_key, entity_id, entity_type, version, action_type, \
                    action_at, is_active, event_id) \(source)
                    """
                ).run()
            }
            try await Self.upsertOwnerships(ownershipOrder.map { ownerships[$0]! }, flavor: flavor, on: database)
            try await Self.insertProducers(Array(producers), flavor: flavor, on: database)
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
        /// One column for the pair, so lookups bind one value: `type/id` (types never contain `/`).
        var storageKey: String { type + "/" + id }
        init?(storageKey: String) {
            guard let slash = storageKey.firstIndex(of: "/") else { return nil }
            self.init(type: String(storageKey[..<slash]), id: String(storageKey[storageKey.index(after: slash)...]))
        }
    }

    struct VersionRow {
        var key: EntityKey
        var version: Int64
        var action: String
        var timestamp: String
        var isActive: Bool
        var eventID: String
    }

    /// A column of values to insert.
    enum Column {
        case text([String])
        case bigint([Int64])
        case bool([Bool])

        var count: Int {
            switch self {
            case .text(let values): values.count
            case .bigint(let values): values.count
            case .bool(let values): values.count
            }
        }
    }

    /// Rows per statement: SQLite binds every value (its parameter limit applies); PostgreSQL binds one array per
    /// column, so a whole batch is one statement.
    static func chunkSize(_ flavor: SQLFlavor) -> Int { flavor == .postgres ? 10_000 : chunkSize }

    /// The rows of an `INSERT`: `VALUES (…), (…)` on SQLite, `SELECT * FROM unnest($1::text[], …)` on PostgreSQL.
    static func rows(_ flavor: SQLFlavor, _ columns: [Column]) -> SQLQueryString {
        switch flavor {
        case .postgres:
            let arrays = columns.map { column -> SQLQueryString in
                switch column {
                case .text(let values): "\(bind: values)::text[]"
                case .bigint(let values): "\(bind: values)::bigint[]"
                case .bool(let values): "\(bind: values)::boolean[]"
                }
            }
            return "SELECT * FROM unnest(" + arrays.joined(separator: ", ") + ")"
        case .sqlite:
            let count = columns.first?.count ?? 0
            let tuples = (0..<count).map { row -> SQLQueryString in
                let values = columns.map { column -> SQLQueryString in
                    switch column {
                    case .text(let values): "\(bind: values[row])"
                    case .bigint(let values): "\(bind: values[row])"
                    case .bool(let values): "\(bind: values[row])"
                    }
                }
                return "(" + values.joined(separator: ", ") + ")"
            }
            return "VALUES " + tuples.joined(separator: ", ")
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

    /// Deactivates the active head of each entity and returns every entity's newest version (absent for entities
    /// never seen). An entity whose newest version is a delete has no active head, so its number is read separately.
    static func deactivateHeads(of keys: Set<EntityKey>, flavor: SQLFlavor, on database: any SQLDatabase)
        async throws -> [EntityKey: Int64]
    {
        var heads: [EntityKey: Int64] = [:]
        func collect(_ rows: [any SQLRow]) throws {
            for row in rows {
                if let key = EntityKey(storageKey: try row.decode(column: "entity_key", as: String.self)) {
                    heads[key] = try row.decode(column: "version", as: Int64.self)
                }
            }
        }
        for chunk in Array(keys).chunked(by: chunkSize(flavor)) {
            try collect(
                try await database.raw(
                    """
                    UPDATE audit_versions SET is_active = FALSE
                    WHERE is_active = TRUE AND entity_key \(keyList(chunk, flavor))
                    RETURNING entity_key, version
                    """
                ).all()
            )
        }
        let inactive = keys.filter { heads[$0] == nil }
        for chunk in Array(inactive).chunked(by: chunkSize(flavor)) {
            try collect(
                try await database.raw(
                    """
                    SELECT entity_key, MAX(version) AS version FROM audit_versions
                    WHERE entity_key \(keyList(chunk, flavor)) GROUP BY entity_key
                    """
                ).all()
            )
        }
        return heads
    }

    /// `IN ($1, $2, …)` on SQLite, `= ANY($1::text[])` (one parameter) on PostgreSQL.
    static func keyList(_ keys: ArraySlice<EntityKey>, _ flavor: SQLFlavor) -> SQLQueryString {
        flavor == .postgres
            ? "= ANY(\(bind: Array(keys.map(\.storageKey)))::text[])" : "IN (\(binds: keys.map(\.storageKey)))"
    }

    static func upsertOwnerships(_ deltas: [OwnershipDelta], flavor: SQLFlavor, on database: any SQLDatabase)
        async throws
    {
        for chunk in deltas.chunked(by: chunkSize(flavor)) {
            let source = rows(
                flavor,
                [
                    .text(chunk.map(\.ownershipID)), .text(chunk.map(\.subjectType)), .text(chunk.map(\.subjectID)),
                    .text(chunk.map(\.first)), .text(chunk.map(\.last)), .bigint(chunk.map(\.count)),
                ])
            try await database.raw(
                """
                INSERT INTO ownerships (ownership_id, subject_entity_type, subject_entity_id, first_seen_at, \
                last_seen_at, event_count) \(source) ON CONFLICT (ownership_id) DO UPDATE SET
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

    static func insertProducers(_ pairs: [ProducerPair], flavor: SQLFlavor, on database: any SQLDatabase)
        async throws
    {
        for chunk in pairs.chunked(by: chunkSize(flavor)) {
            let source = rows(flavor, [.text(chunk.map(\.ownershipID)), .text(chunk.map(\.producer))])
            try await database.raw(
                """
                INSERT INTO ownership_producers (ownership_id, producer_service) \(source) \
                ON CONFLICT (ownership_id, producer_service) DO NOTHING
                """
            ).run()
        }
    }
}
