import BizEvents

/// The audit store: append-only, versioned per entity, idempotent on `event_id`.
///
/// Every stored event records its tenant (``EventEnvelope/tenantID``). Reads take a `tenantID`: `nil` reads the
/// whole trail (the platform's operators), a tenant reads only what that tenant's events recorded.
public protocol AuditStore: Sendable {
    /// Stores valid events in order, atomically: each becomes a new version of its entity and counts towards its
    /// ownership. Events already stored are skipped.
    func ingest(_ records: [AuditRecord]) async throws -> IngestReport

    /// Every version of an entity, oldest first; with `tenantID`, only the versions that tenant's events made.
    func history(entityType: String, entityID: String, tenantID: String?) async throws -> [EntityVersionRecord]

    /// The newest version whose `action_at` is at or before `instant` (among `tenantID`'s, when given).
    func version(entityType: String, entityID: String, at instant: EventTimestamp, tenantID: String?) async throws
        -> EntityVersionRecord?

    /// Stored events matching `filter` (its `tenantID` included) in ingestion order, after the position `after`.
    func events(matching filter: EventFilter, after: Int64?, limit: Int) async throws -> [StoredEventRecord]

    /// The `ownerships` row; with `tenantID`, the same summary over that tenant's events only (nil when it has
    /// none): a data subject known to several tenants shows each tenant only its own part.
    func ownership(id: String, tenantID: String?) async throws -> OwnershipRecord?
}

extension AuditStore {
    public func ingest(_ events: [EventEnvelope]) async throws -> IngestReport {
        try await ingest(events.map { AuditRecord($0) })
    }

    /// The whole trail's history of an entity.
    public func history(entityType: String, entityID: String) async throws -> [EntityVersionRecord] {
        try await history(entityType: entityType, entityID: entityID, tenantID: nil)
    }

    public func version(entityType: String, entityID: String, at instant: EventTimestamp) async throws
        -> EntityVersionRecord?
    {
        try await version(entityType: entityType, entityID: entityID, at: instant, tenantID: nil)
    }

    public func ownership(id: String) async throws -> OwnershipRecord? {
        try await ownership(id: id, tenantID: nil)
    }
}
