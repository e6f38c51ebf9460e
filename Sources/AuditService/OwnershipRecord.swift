import BizEvents

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
