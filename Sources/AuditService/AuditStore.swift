import BizEvents

/// One version of an audited entity.
public struct EntityVersionRecord: Sendable, Hashable {
    public var entityType: String
    public var entityID: String
    public var version: Int64
    public var actionType: String
    public var actionAt: String
    public var isActive: Bool
    public var eventID: String
    public var eventType: String
    /// The stored envelope (canonical JSON).
    public var envelope: String

    public init(
        entityType: String, entityID: String, version: Int64, actionType: String, actionAt: String, isActive: Bool,
        eventID: String, eventType: String, envelope: String
    ) {
        self.entityType = entityType
        self.entityID = entityID
        self.version = version
        self.actionType = actionType
        self.actionAt = actionAt
        self.isActive = isActive
        self.eventID = eventID
        self.eventType = eventType
        self.envelope = envelope
    }
}

/// A stored event with its position in the store.
public struct StoredEventRecord: Sendable, Hashable {
    public var sequence: Int64
    public var eventID: String
    public var eventType: String
    public var entityType: String
    public var entityID: String
    public var traceID: String
    public var ownershipID: String
    public var producerService: String
    public var timestamp: String
    public var receivedAt: String
    public var envelope: String
}

/// The LGPD `ownerships` row of a data subject.
public struct OwnershipRecord: Sendable, Hashable {
    public var ownershipID: String
    public var subjectEntityType: String
    public var subjectEntityID: String
    public var firstSeenAt: String
    public var lastSeenAt: String
    public var eventCount: Int64
    public var producerServices: [String]
}

/// Filters for listing stored events; `nil` means any.
public struct EventFilter: Sendable, Hashable {
    public var traceID: String?
    public var ownershipID: String?
    public var eventType: String?
    public var producerService: String?
    /// Inclusive.
    public var since: EventTimestamp?
    /// Exclusive.
    public var until: EventTimestamp?

    public init(
        traceID: String? = nil, ownershipID: String? = nil, eventType: String? = nil, producerService: String? = nil,
        since: EventTimestamp? = nil, until: EventTimestamp? = nil
    ) {
        self.traceID = traceID
        self.ownershipID = ownershipID
        self.eventType = eventType
        self.producerService = producerService
        self.since = since
        self.until = until
    }
}

/// What one ingestion did.
public struct IngestReport: Sendable, Hashable {
    public var stored: Int
    /// Events already stored (redeliveries), which changed nothing.
    public var duplicates: Int

    public init(stored: Int = 0, duplicates: Int = 0) {
        self.stored = stored
        self.duplicates = duplicates
    }
}

/// A valid event ready to store, with what the store derives from it computed before the write transaction: the
/// canonical JSON it keeps and the `action_type` the registry gives its verb.
public struct AuditRecord: Sendable, Hashable {
    public var envelope: EventEnvelope
    public var canonicalJSON: String
    public var action: ActionType

    public init(_ envelope: EventEnvelope, registry: EventTypeRegistry = .standard) {
        self.envelope = envelope
        self.canonicalJSON = String(decoding: envelope.encoded(), as: UTF8.self)
        self.action = registry.action(for: envelope.eventType) ?? ActionType(rawValue: envelope.eventType.verb.rawValue)
    }
}

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
