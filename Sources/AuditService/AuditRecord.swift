import BizEvents

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
