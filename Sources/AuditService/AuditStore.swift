import BizEvents

/// The audit store: append-only, versioned per entity, idempotent on `event_id`.
public protocol AuditStore: Sendable {
    /// Stores valid events in order, atomically: each becomes a new version of its entity and counts towards its
    /// ownership. Events already stored are skipped.
    func ingest(_ records: [AuditRecord]) async throws -> IngestReport

    /// Every version of an entity, oldest first.
    func history(entityType: String, entityID: String) async throws -> [EntityVersionRecord]

    /// The newest version whose `action_at` is at or before `instant`.
    func version(entityType: String, entityID: String, at instant: EventTimestamp) async throws -> EntityVersionRecord?

    /// Stored events matching `filter` in ingestion order, after the position `after`.
    func events(matching filter: EventFilter, after: Int64?, limit: Int) async throws -> [StoredEventRecord]

    func ownership(id: String) async throws -> OwnershipRecord?
}

extension AuditStore {
    public func ingest(_ events: [EventEnvelope]) async throws -> IngestReport {
        try await ingest(events.map { AuditRecord($0) })
    }
}
