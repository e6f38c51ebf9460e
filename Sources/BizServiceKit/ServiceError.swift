import BizProtos
import GRPCCore

/// A service's domain failures, each mapped to one gRPC status (and, through the gateway, one HTTP status). The
/// services throw these (`TeamError` is this type); transport failures of the services they call pass through as the
/// callee's `RPCError`.
public enum ServiceError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A missing or malformed field (400).
    case invalidArgument(field: String, problem: String)
    /// A well-formed value the domain refuses, such as a CPF with wrong check digits (422).
    case unprocessable(field: String, problem: String)
    case notFound(String)
    /// A uniqueness conflict, such as a duplicate email (409).
    case conflict(field: String, problem: String)
    /// `If-Match` named another version (412).
    case versionMismatch(current: Int64)

    public var description: String {
        switch self {
        case .invalidArgument(let field, let problem), .unprocessable(let field, let problem),
            .conflict(let field, let problem):
            "\(field) \(problem)"
        case .notFound(let what): "\(what) not found"
        case .versionMismatch(let current): "the resource is at version \(current)"
        }
    }
}

extension ServiceError: RPCErrorConvertible {
    public var rpcErrorCode: RPCError.Code {
        switch self {
        case .invalidArgument, .unprocessable: .invalidArgument
        case .notFound: .notFound
        case .conflict: .alreadyExists
        case .versionMismatch: .failedPrecondition
        }
    }

    public var rpcErrorMessage: String { description }

    /// `field` names the offending field; `reason` tells the gateway which HTTP status fits.
    public var rpcErrorMetadata: Metadata {
        switch self {
        case .invalidArgument(let field, _):
            [ErrorMetadata.field: "\(field)", ErrorMetadata.reason: "\(ErrorMetadata.Reason.invalid)"]
        case .unprocessable(let field, _):
            [ErrorMetadata.field: "\(field)", ErrorMetadata.reason: "\(ErrorMetadata.Reason.unprocessable)"]
        case .conflict(let field, _):
            [ErrorMetadata.field: "\(field)", ErrorMetadata.reason: "\(ErrorMetadata.Reason.conflict)"]
        case .versionMismatch: [ErrorMetadata.reason: "\(ErrorMetadata.Reason.versionMismatch)"]
        case .notFound: [ErrorMetadata.reason: "\(ErrorMetadata.Reason.notFound)"]
        }
    }
}

extension ServiceError {
    /// A request's `public_id`, which must be there, lower-cased.
    public static func requiredID(_ id: String) throws(ServiceError) -> String {
        guard !id.isEmpty else { throw .invalidArgument(field: "public_id", problem: "is required") }
        return id.lowercased()
    }
}

extension Pagination {
    /// Every service's lists: 50 items unless asked otherwise, at most 500.
    public static let lists = Pagination(defaultSize: 50, maximumSize: 500)
}
