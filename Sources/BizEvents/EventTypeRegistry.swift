/// Maps the verb of an event type (`account.created` → `created`) to its ``ActionType``.
///
/// Event types are `<entity>.<verb>`; the entity part names the audited entity type. Services that emit other
/// verbs declare them here, so an unknown verb is a validation error rather than a guess.
public struct EventTypeRegistry: Sendable {
    public private(set) var verbs: [EventVerb: ActionType]

    public init(verbs: [EventVerb: ActionType]) { self.verbs = verbs }

    /// The verbs of the brief: `created→new`, `updated→update`, `deleted→delete`, `removed→delete`,
    /// `disabled→disable`, `enabled→enable`, `secret_rotated→update`, `locked→update`, `unlocked→update`,
    /// `sent→update`, `failed→update` and `changed→update` (README lists them).
    public static let standard = EventTypeRegistry(verbs: [
        .created: .new, .updated: .update, .deleted: .delete, .removed: .delete, .disabled: .disable,
        .enabled: .enable, .secretRotated: .update, .locked: .update, .unlocked: .update,
        .sent: .update, .failed: .update, .changed: .update,
    ])

    public mutating func declare(verb: EventVerb, as action: ActionType) {
        verbs[verb] = action
    }

    public func action(for eventType: EventType) -> ActionType? {
        verbs[eventType.verb]
    }
}
