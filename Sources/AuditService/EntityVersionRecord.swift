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
    /// The tenant of the event that made this version (`""` when it recorded none).
    public var tenantID: String
    /// The stored envelope (canonical JSON).
    public var envelope: String

    public init(
        entityType: String, entityID: String, version: Int64, actionType: String, actionAt: String, isActive: Bool,
        eventID: String, eventType: String, tenantID: String, envelope: String
    ) {
        self.entityType = entityType
        self.entityID = entityID
        self.version = version
        self.actionType = actionType
        self.actionAt = actionAt
        self.isActive = isActive
        self.eventID = eventID
        self.eventType = eventType
        self.tenantID = tenantID
        self.envelope = envelope
    }
}
