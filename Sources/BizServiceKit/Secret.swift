/// A configuration value that must never be printed or logged: `description` hides it.
public struct Secret: Sendable, Hashable, CustomStringConvertible {
    public var value: String
    public init(_ value: String) { self.value = value }
    public var description: String { "<redacted>" }
}
