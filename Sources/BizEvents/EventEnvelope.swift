/// Who caused an event: a user acting through the API, or a service acting on its own.
public enum OwnerType: String, Sendable, Hashable, CaseIterable {
    case user
    case service
}

/// The mandatory metadata of every event (`metadata` in the envelope).
public struct EventMetadata: Sendable, Hashable {
    public var ownerID: String
    public var ownerIP: String
    public var ownerRole: String
    public var ownerType: OwnerType
    public var eventSchemaVersion: String
    public var ownershipID: String
    /// The deployment that produced the event (`production`, `development`…). Producers write it; it is not among
    /// the brief's mandatory fields, so an event without it is accepted (nil).
    public var environment: String?
    /// The tenant the changed entity belongs to (`platform` or a client contractor's `public_id`). Producers write
    /// it; the audit trail is sealed per tenant by it. Optional: an event without it belongs to its payload's
    /// `tenant_id`, or else only to the platform's operators (see ``EventEnvelope/tenantID``).
    public var tenantID: String?
    /// Metadata fields beyond the mandatory ones, kept as sent.
    public var extra: [String: JSONValue]

    public init(
        ownerID: String, ownerIP: String, ownerRole: String, ownerType: OwnerType,
        eventSchemaVersion: String = "1.0", ownershipID: String, environment: String?, tenantID: String? = nil,
        extra: [String: JSONValue] = [:]
    ) {
        self.ownerID = ownerID
        self.ownerIP = ownerIP
        self.ownerRole = ownerRole
        self.ownerType = ownerType
        self.eventSchemaVersion = eventSchemaVersion
        self.ownershipID = ownershipID
        self.environment = environment
        self.tenantID = tenantID
        self.extra = extra
    }
}

/// The event envelope every service emits and the Audit service stores (see ARCHITECTURE.md).
public struct EventEnvelope: Sendable, Hashable {
    /// Unique per event; the idempotency key everywhere. A lowercase UUID.
    public var eventID: String
    public var producerService: String
    public var producerServiceID: String
    public var traceID: String
    public var timestamp: EventTimestamp
    public var eventType: EventType
    /// The full state of the entity after the change; always has a string `public_id`.
    public var payload: [String: JSONValue]
    public var metadata: EventMetadata

    public init(
        eventID: String = EventID.generate(), producerService: String, producerServiceID: String, traceID: String,
        timestamp: EventTimestamp = .now(), eventType: EventType, payload: [String: JSONValue],
        metadata: EventMetadata
    ) {
        self.eventID = eventID
        self.producerService = producerService
        self.producerServiceID = producerServiceID
        self.traceID = traceID
        self.timestamp = timestamp
        self.eventType = eventType
        self.payload = payload
        self.metadata = metadata
    }

    /// The audited entity's type: the event type's prefix (`account` for `account.created`).
    public var entityType: String { eventType.entityType }

    /// The audited entity's id: `payload.public_id`.
    public var entityID: String { payload["public_id"]?.stringValue ?? "" }

    /// The tenant whose trail holds the event: `metadata.tenant_id`, else the payload's `tenant_id`, else `""` (the
    /// platform operators' only).
    public var tenantID: String { metadata.tenantID ?? payload["tenant_id"]?.stringValue ?? "" }

    /// The envelope as JSON, with `owner_*` metadata (never the `user_*` aliases).
    public var json: JSONValue {
        var metadataObject = metadata.extra
        metadataObject["owner_id"] = .string(metadata.ownerID)
        metadataObject["owner_ip"] = .string(metadata.ownerIP)
        metadataObject["owner_role"] = .string(metadata.ownerRole)
        metadataObject["owner_type"] = .string(metadata.ownerType.rawValue)
        metadataObject["event_schema_version"] = .string(metadata.eventSchemaVersion)
        metadataObject["ownership_id"] = .string(metadata.ownershipID)
        if let environment = metadata.environment { metadataObject["environment"] = .string(environment) }
        if let tenantID = metadata.tenantID { metadataObject["tenant_id"] = .string(tenantID) }
        return .object([
            "event_id": .string(eventID),
            "producer_service": .string(producerService),
            "producer_service_id": .string(producerServiceID),
            "trace_id": .string(traceID),
            "timestamp": .string(timestamp.rfc3339),
            "event_type": .string(eventType.description),
            "payload": .object(payload),
            "metadata": .object(metadataObject),
        ])
    }

    /// Canonical JSON bytes of ``json`` (sorted keys, no white space): what producers send and the audit store keeps.
    public func encoded() -> [UInt8] { json.canonicalBytes() }
}
