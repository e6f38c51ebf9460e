/// A storage failure, classified so callers know whether to retry.
///
/// `description` names the operation and the class of failure only: never SQL text, bound values or paths with
/// secrets in them.
public struct StorageError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        let raw: String
        /// Transient: the database is busy, locked, out of space or unreachable. Retry later.
        public static let unavailable = Code(raw: "unavailable")
        /// A uniqueness or other constraint refused the change.
        public static let constraint = Code(raw: "constraint")
        /// The store refused the operation by design (for example deleting audit rows).
        public static let refused = Code(raw: "refused")
        /// The store cannot hold a value it was given (PostgreSQL refuses a NUL character in text, for example):
        /// retrying the same data cannot succeed.
        public static let invalidData = Code(raw: "invalid data")
        /// Anything else: a bug or a corrupt database.
        public static let failure = Code(raw: "failure")
        public var description: String { raw }
    }

    public var code: Code
    public var reason: String

    public init(code: Code, reason: String) {
        self.code = code
        self.reason = reason
    }

    public var isTransient: Bool { code == .unavailable }

    public var description: String { "storage \(code): \(reason)" }
}
