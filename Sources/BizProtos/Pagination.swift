import GRPCCore

/// Cursor pagination shared by every list RPC: `page_size` (0 means the default) and opaque `page_token`s carrying
/// the position of the previous page's last item.
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

    /// The position a `page_token` carries; nil for the first page.
    public static func position(of token: String) throws(PaginationError) -> Int64? {
        guard !token.isEmpty else { return nil }
        guard token.first == "p", let position = Int64(token.dropFirst(), radix: 36), position >= 0 else {
            throw PaginationError(field: "page_token", problem: "is not a token this service issued")
        }
        return position
    }

    /// The token for the page after the item at `position`.
    public static func token(after position: Int64) -> String {
        "p" + String(position, radix: 36)
    }
}

/// A bad `page_size` or `page_token`: INVALID_ARGUMENT naming the field.
public struct PaginationError: Error, Sendable, Hashable, CustomStringConvertible, RPCErrorConvertible {
    public var field: String
    public var problem: String

    public var description: String { "\(field) \(problem)" }
    public var rpcErrorCode: RPCError.Code { .invalidArgument }
    public var rpcErrorMessage: String { description }
    public var rpcErrorMetadata: Metadata {
        [ErrorMetadata.field: "\(field)", ErrorMetadata.reason: "\(ErrorMetadata.Reason.invalid)"]
    }
}
