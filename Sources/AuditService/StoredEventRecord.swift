import BizEvents

/// A stored event with its position in the store.
public struct StoredEventRecord: Sendable, Hashable {
    public var sequence: Int64
    public var eventID: String
    public var eventType: String
    public var entityType: String
    public var entityID: String
    public var traceID: String
    public var ownershipID: String
    public var tenantID: String
    public var producerService: String
    public var timestamp: String
    public var receivedAt: String
    public var envelope: String
}
