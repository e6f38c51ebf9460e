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
