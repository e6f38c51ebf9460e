import BizEvents
import BizTelemetry

/// Builds the envelopes a service emits, with `owner_*` taken only from the verified caller.
public struct EventFactory: Sendable {
    /// `team_service`, `identity_service`, …
    public var producerService: String
    /// This process's instance id.
    public var producerServiceID: String
    public var environment: String
    /// The `owner_id` of what the service does on its own: its ``ServiceAccount``'s public id.
    public var serviceOwnerID: String

    public init(producerService: String, producerServiceID: String, environment: String, serviceOwnerID: String) {
        self.producerService = producerService
        self.producerServiceID = producerServiceID
        self.environment = environment
        self.serviceOwnerID = serviceOwnerID
    }

    /// An event caused by `caller` (a user through the API, or a service with its own token). Its
    /// `metadata.tenant_id` is the payload's `tenant_id`: the tenant of the entity, not the caller's (a platform
    /// admin acting in a tenant changes that tenant's trail).
    public func event(
        _ eventType: EventType, payload: [String: JSONValue], ownershipID: String, caller: Caller
    ) -> EventEnvelope {
        envelope(
            eventType, payload: payload, traceID: caller.traceID,
            metadata: EventMetadata(
                ownerID: caller.principal.subject, ownerIP: caller.clientIP, ownerRole: caller.principal.primaryRole,
                ownerType: caller.principal.ownerType == "service" ? .service : .user, ownershipID: ownershipID,
                environment: environment, tenantID: payload["tenant_id"]?.stringValue
            )
        )
    }

    /// An event the service causes on its own (start-up bootstrap, a scheduled job, a consumer): `owner_type =
    /// service`, `owner_id` its service account, `owner_role` `service`.
    public func systemEvent(_ eventType: EventType, payload: [String: JSONValue], ownershipID: String) -> EventEnvelope
    {
        envelope(
            eventType, payload: payload, traceID: TraceContext.random().traceID,
            metadata: EventMetadata(
                ownerID: serviceOwnerID, ownerIP: ServiceIdentity.ownAddress, ownerRole: ServiceAccount.serviceRole,
                ownerType: .service,
                ownershipID: ownershipID, environment: environment, tenantID: payload["tenant_id"]?.stringValue
            )
        )
    }

    private func envelope(
        _ eventType: EventType, payload: [String: JSONValue], traceID: String, metadata: EventMetadata
    ) -> EventEnvelope {
        EventEnvelope(
            producerService: producerService, producerServiceID: producerServiceID, traceID: traceID,
            eventType: eventType, payload: payload, metadata: metadata
        )
    }
}
