/// The verb of an event type (`created` in `account.created`): what happened to the entity.
public struct EventVerb: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let created = EventVerb(rawValue: "created")
    public static let updated = EventVerb(rawValue: "updated")
    public static let deleted = EventVerb(rawValue: "deleted")
    /// The brief's own example (`account.removed`): a deletion.
    public static let removed = EventVerb(rawValue: "removed")
    public static let disabled = EventVerb(rawValue: "disabled")
    public static let enabled = EventVerb(rawValue: "enabled")
    /// A credential was replaced (an OAuth2 client's secret); the event carries no secret.
    public static let secretRotated = EventVerb(rawValue: "secret_rotated")
    /// Sign-in was stopped for a while (too many failed logins), or an admin released it.
    public static let locked = EventVerb(rawValue: "locked")
    public static let unlocked = EventVerb(rawValue: "unlocked")
    /// A notification reached its recipient (`notification.sent`).
    public static let sent = EventVerb(rawValue: "sent")
    /// A notification's delivery gave up: its attempts ran out, or the destination refused it for good.
    public static let failed = EventVerb(rawValue: "failed")
    /// A definition was replaced from outside the services (a feature flag, by its flag file).
    public static let changed = EventVerb(rawValue: "changed")

    public var description: String { rawValue }
}
