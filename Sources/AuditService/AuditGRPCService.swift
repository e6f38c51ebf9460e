import BizAuth
import BizEvents
import BizProtos
import BizStorage
import GRPCCore
import SwiftProtobuf

/// The Audit service's gRPC API (`bizretail.audit.v1.AuditService`). Admins only (the module's access rules); a
/// tenant's admins read their own tenant's trail, the platform's admins all of it.
public struct AuditGRPCService: Bizretail_Audit_V1_AuditService.SimpleServiceProtocol {
    public var store: any AuditStore
    public var pageTokens: PageTokens

    public init(store: any AuditStore, pageTokens: PageTokens) {
        self.store = store
        self.pageTokens = pageTokens
    }

    public func getEntityHistory(
        request: Bizretail_Audit_V1_GetEntityHistoryRequest, context: ServerContext
    ) async throws -> Bizretail_Audit_V1_GetEntityHistoryResponse {
        try requireEntity(type: request.entityType, id: request.entityID)
        let versions = try await store.history(
            entityType: request.entityType, entityID: request.entityID, tenantID: try Self.callerTenant())
        return .with { $0.versions = versions.map(Bizretail_Audit_V1_EntityVersion.init) }
    }

    public func getEntityStateAt(
        request: Bizretail_Audit_V1_GetEntityStateAtRequest, context: ServerContext
    ) async throws -> Bizretail_Audit_V1_EntityVersion {
        try requireEntity(type: request.entityType, id: request.entityID)
        guard request.hasAt else { throw AuditError.invalidArgument(field: "at", problem: "is required") }
        let instant = try Self.instant(request.at, field: "at")
        guard
            let version = try await store.version(
                entityType: request.entityType, entityID: request.entityID, at: instant,
                tenantID: try Self.callerTenant())
        else {
            throw AuditError.notFound("the entity has no version at or before \(instant.rfc3339)")
        }
        return Bizretail_Audit_V1_EntityVersion(version)
    }

    /// The tenant whose trail the caller may read: nil (all of it) for the platform's operators.
    static func callerTenant() throws -> String? {
        let tenant = try Caller.require().principal.tenantID
        return tenant == AuthInterceptor.platformTenant ? nil : tenant
    }

    static func instant(_ timestamp: Google_Protobuf_Timestamp, field: String) throws(AuditError) -> EventTimestamp {
        guard let instant = EventTimestamp(checking: timestamp) else {
            throw .invalidArgument(field: field, problem: "must be a time between the years 0001 and 9999")
        }
        return instant
    }

    public func listEvents(
        request: Bizretail_Audit_V1_ListEventsRequest, context: ServerContext
    ) async throws -> Bizretail_Audit_V1_ListEventsResponse {
        let pageSize = try Pagination().size(request.pageSize)
        let after = try pageTokens.position(of: request.pageToken)
        func optional(_ text: String) -> String? { text.isEmpty ? nil : text }
        let own = try Self.callerTenant()
        // Naming another tenant than one's own finds nothing, as that tenant's trail does not exist for the caller.
        if let own, let named = optional(request.tenantID), named != own { return .init() }
        let filter = EventFilter(
            tenantID: own ?? optional(request.tenantID), traceID: optional(request.traceID),
            ownershipID: optional(request.ownershipID),
            eventType: optional(request.eventType), producerService: optional(request.producerService),
            since: request.hasSince ? try Self.instant(request.since, field: "since") : nil,
            until: request.hasUntil ? try Self.instant(request.until, field: "until") : nil
        )
        let events = try await store.events(matching: filter, after: after, limit: pageSize + 1)
        return .with { response in
            response.events = events.prefix(pageSize).map(Bizretail_Audit_V1_StoredEvent.init)
            if events.count > pageSize, let last = events.prefix(pageSize).last {
                response.nextPageToken = pageTokens.token(after: last.sequence)
            }
        }
    }

    public func getOwnership(
        request: Bizretail_Audit_V1_GetOwnershipRequest, context: ServerContext
    ) async throws -> Bizretail_Audit_V1_Ownership {
        guard !request.ownershipID.isEmpty else {
            throw AuditError.invalidArgument(field: "ownership_id", problem: "is required")
        }
        guard
            let ownership = try await store.ownership(
                id: request.ownershipID.lowercased(), tenantID: try Self.callerTenant())
        else {
            throw AuditError.notFound("no ownership with that id")
        }
        return .with {
            $0.ownershipID = ownership.ownershipID
            $0.subjectEntityType = ownership.subjectEntityType
            $0.subjectEntityID = ownership.subjectEntityID
            $0.firstSeenAt = .init(rfc3339: ownership.firstSeenAt)
            $0.lastSeenAt = .init(rfc3339: ownership.lastSeenAt)
            $0.eventCount = ownership.eventCount
            $0.producerServices = ownership.producerServices
        }
    }

    private func requireEntity(type: String, id: String) throws {
        if type.isEmpty { throw AuditError.invalidArgument(field: "entity_type", problem: "is required") }
        if id.isEmpty { throw AuditError.invalidArgument(field: "entity_id", problem: "is required") }
    }
}

extension Bizretail_Audit_V1_EntityVersion {
    init(_ record: EntityVersionRecord) {
        self = .with {
            $0.entityType = record.entityType
            $0.entityID = record.entityID
            $0.version = record.version
            $0.actionType = record.actionType
            $0.actionAt = .init(rfc3339: record.actionAt)
            $0.isActive = record.isActive
            $0.eventID = record.eventID
            $0.eventType = record.eventType
            $0.tenantID = record.tenantID
            $0.envelopeJson = record.envelope
            if let envelope = try? JSONParser.parse(Array(record.envelope.utf8)), let payload = envelope["payload"] {
                $0.stateJson = payload.canonicalString()
            }
        }
    }
}

extension Bizretail_Audit_V1_StoredEvent {
    init(_ record: StoredEventRecord) {
        self = .with {
            $0.eventID = record.eventID
            $0.eventType = record.eventType
            $0.entityType = record.entityType
            $0.entityID = record.entityID
            $0.traceID = record.traceID
            $0.ownershipID = record.ownershipID
            $0.tenantID = record.tenantID
            $0.producerService = record.producerService
            $0.timestamp = .init(rfc3339: record.timestamp)
            $0.receivedAt = .init(rfc3339: record.receivedAt)
            $0.envelopeJson = record.envelope
        }
    }
}
