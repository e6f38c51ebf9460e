import BizEvents

extension EventType {
    /// `user.<verb>`: a person who can log in.
    static func user(_ verb: EventVerb) -> EventType { EventType(entity: "user", verb: verb) }
    /// `client.<verb>`: an OAuth2 client.
    static func client(_ verb: EventVerb) -> EventType { EventType(entity: "client", verb: verb) }
}

/// The event types the Identity Provider emits.
public enum IdentityEvents {
    public static let produced: [EventType] =
        [EventVerb.created, .updated, .disabled, .enabled, .deleted, .locked, .unlocked].map { EventType.user($0) }
        + [EventVerb.created, .updated, .disabled, .enabled, .secretRotated].map { EventType.client($0) }
        + [EventType(entity: "signing_key", verb: .created)]
}
