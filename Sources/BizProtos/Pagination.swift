import GRPCCore

/// Cursor pagination shared by every list RPC: `page_size` (0 means the default); the opaque `page_token`s are
/// `PageTokens` (BizAuth), sealed under the master key.
public struct Pagination: Sendable {
    public var defaultSize: Int
    public var maximumSize: Int

    public init(defaultSize: Int = 100, maximumSize: Int = 1000) {
        self.defaultSize = defaultSize
        self.maximumSize = maximumSize
    }

    /// The page size to use for a requested `page_size`.
    public func size(_ requested: Int32) throws(PaginationError) -> Int {
        if requested == 0 { return defaultSize }
        guard requested > 0, Int(requested) <= maximumSize else {
            throw PaginationError(field: "page_size", problem: "must be between 1 and \(maximumSize)")
        }
        return Int(requested)
    }
}

/// A bad `page_size` or `page_token`: INVALID_ARGUMENT naming the field.
public struct PaginationError: Error, Sendable, Hashable, CustomStringConvertible, RPCErrorConvertible {
    public var field: String
    public var problem: String

    public init(field: String, problem: String) {
        self.field = field
        self.problem = problem
    }

    public var description: String { "\(field) \(problem)" }
    public var rpcErrorCode: RPCError.Code { .invalidArgument }
    public var rpcErrorMessage: String { description }
    public var rpcErrorMetadata: Metadata {
        // A page token is opaque: one this service did not issue is well-formed but refused (422), not malformed.
        let reason = field == "page_token" ? ErrorMetadata.Reason.unprocessable : ErrorMetadata.Reason.invalid
        return [ErrorMetadata.field: "\(field)", ErrorMetadata.reason: "\(reason)"]
    }
}
