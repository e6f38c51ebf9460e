/// What an event did to the entity it describes, as the audit store records it (`action_type`).
public struct ActionType: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let new = ActionType(rawValue: "new")
    public static let update = ActionType(rawValue: "update")
    public static let delete = ActionType(rawValue: "delete")
    public static let disable = ActionType(rawValue: "disable")
    public static let enable = ActionType(rawValue: "enable")

    public var description: String { rawValue }
}

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

    public var description: String { rawValue }
}

/// Maps the verb of an event type (`account.created` → `created`) to its ``ActionType``.
///
/// Event types are `<entity>.<verb>`; the entity part names the audited entity type. Services that emit other
/// verbs declare them here, so an unknown verb is a validation error rather than a guess.
public struct EventTypeRegistry: Sendable {
    public private(set) var verbs: [EventVerb: ActionType]

    public init(verbs: [EventVerb: ActionType]) { self.verbs = verbs }

    /// The verbs of the brief: `created→new`, `updated→update`, `deleted→delete`, `removed→delete`,
    /// `disabled→disable`, `enabled→enable` (README lists them).
    public static let standard = EventTypeRegistry(verbs: [
        .created: .new, .updated: .update, .deleted: .delete, .removed: .delete, .disabled: .disable,
        .enabled: .enable,
    ])

    public mutating func declare(verb: EventVerb, as action: ActionType) {
        verbs[verb] = action
    }

    public func action(for eventType: EventType) -> ActionType? {
        verbs[eventType.verb]
    }
}

/// An event type such as `account.created`: an entity type and a verb, both `[a-z][a-z0-9_]*`.
public struct EventType: Sendable, Hashable, CustomStringConvertible {
    public let entityType: String
    public let verb: EventVerb

    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, Self.isIdentifier(parts[0]), Self.isIdentifier(parts[1]) else { return nil }
        entityType = String(parts[0])
        verb = EventVerb(rawValue: String(parts[1]))
    }

    /// The type a service emits for one of its entities (`EventType(entity: "team", verb: .created)`); both parts
    /// are constants of the producing service, so a malformed one is a programming error.
    public init(entity: String, verb: EventVerb) {
        precondition(
            Self.isIdentifier(Substring(entity)) && Self.isIdentifier(Substring(verb.rawValue)),
            "malformed event type \(entity).\(verb)")
        self.entityType = entity
        self.verb = verb
    }

    public var description: String { "\(entityType).\(verb.rawValue)" }

    static func isIdentifier(_ text: Substring) -> Bool {
        guard let first = text.utf8.first, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first),
            text.utf8.count <= 64
        else { return false }
        return text.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "_")
        }
    }
}
