/// Startup failures an operator can act on.
public struct RuntimeError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
