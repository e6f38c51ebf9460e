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
