import BizEvents

/// Filters for listing stored events; `nil` means any.
public struct EventFilter: Sendable, Hashable {
    /// The tenant whose events to list (`""`: events that recorded none).
    public var tenantID: String?
    public var traceID: String?
    public var ownershipID: String?
    public var eventType: String?
    public var producerService: String?
    /// Inclusive.
    public var since: EventTimestamp?
    /// Exclusive.
    public var until: EventTimestamp?

    public init(
        tenantID: String? = nil, traceID: String? = nil, ownershipID: String? = nil, eventType: String? = nil,
        producerService: String? = nil,
        since: EventTimestamp? = nil, until: EventTimestamp? = nil
    ) {
        self.tenantID = tenantID
        self.traceID = traceID
        self.ownershipID = ownershipID
        self.eventType = eventType
        self.producerService = producerService
        self.since = since
        self.until = until
    }
}
