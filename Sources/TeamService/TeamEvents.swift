import BizEvents

extension EventType {
    /// `team.<verb>`: a team was created, updated, disabled, enabled or deleted.
    static func team(_ verb: EventVerb) -> EventType { EventType(entity: "team", verb: verb) }
    /// `account.<verb>`: an account (a person in the tenant's teams) changed.
    static func account(_ verb: EventVerb) -> EventType { EventType(entity: "account", verb: verb) }
}

/// The event types the Team service emits.
public enum TeamEvents {
    public static let produced: [EventType] = [EventVerb.created, .updated, .disabled, .enabled, .deleted].flatMap {
        [EventType.team($0), .account($0)]
    }
}
