import BizEvents

/// The event types the Notifications service emits: its webhooks', templates' and rules' changes, and each
/// delivery's outcome.
public enum NotificationsEvents {
    /// `notification`: the entity of `notification.sent` and `notification.failed` (a delivery).
    static let entity = "notification"

    /// `webhook`: a subscription's changes.
    static let webhookEntity = "webhook"

    /// `notification_template`, `notification_rule`: a tenant's templates and rules.
    static let templateEntity = "notification_template"
    static let ruleEntity = "notification_rule"

    /// The entities of the service's own configuration, which `*` leaves out (they are named to be had).
    static let configurationEntities: Set<String> = [webhookEntity, templateEntity, ruleEntity]

    static func webhook(_ verb: EventVerb) -> EventType { EventType(entity: webhookEntity, verb: verb) }
    static func template(_ verb: EventVerb) -> EventType { EventType(entity: templateEntity, verb: verb) }
    static func rule(_ verb: EventVerb) -> EventType { EventType(entity: ruleEntity, verb: verb) }
    static func notification(_ verb: EventVerb) -> EventType { EventType(entity: entity, verb: verb) }

    public static let produced: [EventType] =
        [EventVerb.created, .updated, .disabled, .enabled, .deleted, .secretRotated].map(webhook)
        + [notification(.sent), notification(.failed)]
        + [EventVerb.created, .updated, .deleted].map(template)
        + [EventVerb.created, .updated, .disabled, .enabled, .deleted].map(rule)
}
