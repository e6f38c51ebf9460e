import BizEvents
import BizStorage
import SQLKit

extension SQLAuditStore {
    static let versionColumns = """
        v.entity_type, v.entity_id, v.version, v.action_type, v.action_at, v.is_active, v.event_id, \
        e.event_type, e.tenant_id, e.envelope
        """

    /// `AND e.tenant_id = …` when reading one tenant's trail.
    static func tenantCondition(_ tenantID: String?) -> SQLQueryString {
        tenantID.map { "AND e.tenant_id = \(bind: $0)" } ?? ""
    }

    public func history(entityType: String, entityID: String, tenantID: String?) async throws
        -> [EntityVersionRecord]
    {
        try await store.read { database in
            try await database.raw(
                """
                SELECT \(unsafeRaw: Self.versionColumns) FROM audit_versions v
                JOIN audit_events e ON e.event_id = v.event_id
                WHERE v.entity_key = \(bind: EntityKey(type: entityType, id: entityID).storageKey)
                \(Self.tenantCondition(tenantID)) ORDER BY v.version
                """
            ).all().map(Self.versionRecord)
        }
    }

    public func version(entityType: String, entityID: String, at instant: EventTimestamp, tenantID: String?)
        async throws -> EntityVersionRecord?
    {
        try await store.read { database in
            try await database.raw(
                """
                SELECT \(unsafeRaw: Self.versionColumns) FROM audit_versions v
                JOIN audit_events e ON e.event_id = v.event_id
                WHERE v.entity_key = \(bind: EntityKey(type: entityType, id: entityID).storageKey)
                AND v.action_at <= \(bind: instant.rfc3339) \(Self.tenantCondition(tenantID))
                ORDER BY v.version DESC LIMIT 1
                """
            ).first().map(Self.versionRecord)
        }
    }

    public func events(matching filter: EventFilter, after: Int64?, limit: Int) async throws -> [StoredEventRecord] {
        var conditions: [SQLQueryString] = ["seq > \(bind: after ?? 0)"]
        if let tenantID = filter.tenantID { conditions.append("tenant_id = \(bind: tenantID)") }
        if let traceID = filter.traceID { conditions.append("trace_id = \(bind: traceID)") }
        if let ownershipID = filter.ownershipID { conditions.append("ownership_id = \(bind: ownershipID)") }
        if let eventType = filter.eventType { conditions.append("event_type = \(bind: eventType)") }
        if let producer = filter.producerService { conditions.append("producer_service = \(bind: producer)") }
        if let since = filter.since { conditions.append("occurred_at >= \(bind: since.rfc3339)") }
        if let until = filter.until { conditions.append("occurred_at < \(bind: until.rfc3339)") }
        let whereClause = conditions.joined(separator: " AND ")
        return try await store.read { database in
            try await database.raw(
                """
                SELECT seq, event_id, event_type, entity_type, entity_id, trace_id, ownership_id, tenant_id, \
                producer_service, occurred_at, received_at, envelope FROM audit_events WHERE
                """ + " " + whereClause + " ORDER BY seq LIMIT \(bind: limit)"
            ).all().map { row in
                StoredEventRecord(
                    sequence: try row.decode(column: "seq", as: Int64.self),
                    eventID: try row.decode(column: "event_id", as: String.self),
                    eventType: try row.decode(column: "event_type", as: String.self),
                    entityType: try row.decode(column: "entity_type", as: String.self),
                    entityID: try row.decode(column: "entity_id", as: String.self),
                    traceID: try row.decode(column: "trace_id", as: String.self),
                    ownershipID: try row.decode(column: "ownership_id", as: String.self),
                    tenantID: try row.decode(column: "tenant_id", as: String.self),
                    producerService: try row.decode(column: "producer_service", as: String.self),
                    timestamp: try row.decode(column: "occurred_at", as: String.self),
                    receivedAt: try row.decode(column: "received_at", as: String.self),
                    envelope: try row.decode(column: "envelope", as: String.self)
                )
            }
        }
    }

    public func ownership(id: String, tenantID: String?) async throws -> OwnershipRecord? {
        if let tenantID { return try await ownership(id: id, within: tenantID) }
        return try await store.read { database in
            guard
                let row = try await database.raw(
                    """
                    SELECT ownership_id, subject_entity_type, subject_entity_id, first_seen_at, last_seen_at, event_count
                    FROM ownerships WHERE ownership_id = \(bind: id)
                    """
                ).first()
            else { return nil }
            let producers = try await database.raw(
                """
                SELECT producer_service FROM ownership_producers WHERE ownership_id = \(bind: id)
                ORDER BY producer_service
                """
            ).all().map { try $0.decode(column: "producer_service", as: String.self) }
            return OwnershipRecord(
                ownershipID: try row.decode(column: "ownership_id", as: String.self),
                subjectEntityType: try row.decode(column: "subject_entity_type", as: String.self),
                subjectEntityID: try row.decode(column: "subject_entity_id", as: String.self),
                firstSeenAt: try row.decode(column: "first_seen_at", as: String.self),
                lastSeenAt: try row.decode(column: "last_seen_at", as: String.self),
                eventCount: try row.decode(column: "event_count", as: Int64.self),
                producerServices: producers
            )
        }
    }

    /// The ownership summary over one tenant's events: the same rules as the `ownerships` row (the subject is the
    /// entity whose id is the ownership id when one is seen, else the first).
    func ownership(id: String, within tenantID: String) async throws -> OwnershipRecord? {
        try await store.read { database in
            let scope: SQLQueryString = "ownership_id = \(bind: id) AND tenant_id = \(bind: tenantID)"
            guard
                let summary = try await database.raw(
                    """
                    SELECT MIN(occurred_at) AS first_seen_at, MAX(occurred_at) AS last_seen_at, COUNT(*) AS event_count
                    FROM audit_events WHERE \(scope)
                    """
                ).first(),
                case let count = try summary.decode(column: "event_count", as: Int64.self), count > 0,
                let subject = try await database.raw(
                    """
                    SELECT entity_type, entity_id FROM audit_events WHERE \(scope)
                    ORDER BY CASE WHEN entity_id = ownership_id THEN 0 ELSE 1 END, seq LIMIT 1
                    """
                ).first()
            else { return nil }
            let producers = try await database.raw(
                "SELECT DISTINCT producer_service FROM audit_events WHERE \(scope) ORDER BY producer_service"
            ).all().map { try $0.decode(column: "producer_service", as: String.self) }
            return OwnershipRecord(
                ownershipID: id, subjectEntityType: try subject.decode(column: "entity_type", as: String.self),
                subjectEntityID: try subject.decode(column: "entity_id", as: String.self),
                firstSeenAt: try summary.decode(column: "first_seen_at", as: String.self),
                lastSeenAt: try summary.decode(column: "last_seen_at", as: String.self), eventCount: count,
                producerServices: producers)
        }
    }

    static func versionRecord(_ row: any SQLRow) throws -> EntityVersionRecord {
        EntityVersionRecord(
            entityType: try row.decode(column: "entity_type", as: String.self),
            entityID: try row.decode(column: "entity_id", as: String.self),
            version: try row.decode(column: "version", as: Int64.self),
            actionType: try row.decode(column: "action_type", as: String.self),
            actionAt: try row.decode(column: "action_at", as: String.self),
            isActive: try row.decode(column: "is_active", as: Bool.self),
            eventID: try row.decode(column: "event_id", as: String.self),
            eventType: try row.decode(column: "event_type", as: String.self),
            tenantID: try row.decode(column: "tenant_id", as: String.self),
            envelope: try row.decode(column: "envelope", as: String.self)
        )
    }
}
