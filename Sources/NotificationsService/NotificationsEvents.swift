import BizEvents

/// The event types the Notifications service emits: its webhooks' changes, and each delivery's outcome.
public enum NotificationsEvents {
    /// `notification`: the entity of `notification.sent` and `notification.failed` (a delivery).
    static let entity = "notification"

    /// `webhook`: a subscription's changes.
    static let webhookEntity = "webhook"

    static func webhook(_ verb: EventVerb) -> EventType { EventType(entity: webhookEntity, verb: verb) }
    static func notification(_ verb: EventVerb) -> EventType { EventType(entity: entity, verb: verb) }

    public static let produced: [EventType] =
        [EventVerb.created, .updated, .disabled, .enabled, .deleted, .secretRotated].map(webhook)
        + [notification(.sent), notification(.failed)]
}
