import BizProtos
import GRPCCore

/// What the Audit service refuses, typed like the other services' errors; translated to a gRPC status once, here.
public enum AuditError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A required or malformed request field.
    case invalidArgument(field: String, problem: String)
    case notFound(String)
    /// A published envelope that failed validation (it was stored as a dead letter).
    case invalidEvent(String)
    /// The operation does not exist in this mode (dead letters are in `audit.dlq` in the distributed mode).
    case unsupported(String)

    public var description: String {
        switch self {
        case .invalidArgument(let field, let problem): "\(field) \(problem)"
        case .notFound(let what), .invalidEvent(let what), .unsupported(let what): what
        }
    }
}

extension AuditError: RPCErrorConvertible {
    public var rpcErrorCode: RPCError.Code {
        switch self {
        case .invalidArgument, .invalidEvent: .invalidArgument
        case .notFound: .notFound
        case .unsupported: .unimplemented
        }
    }

    public var rpcErrorMessage: String { description }

    public var rpcErrorMetadata: Metadata {
        switch self {
        case .invalidArgument(let field, _):
            [ErrorMetadata.field: "\(field)", ErrorMetadata.reason: "\(ErrorMetadata.Reason.invalid)"]
        case .notFound: [ErrorMetadata.reason: "\(ErrorMetadata.Reason.notFound)"]
        case .invalidEvent, .unsupported: [:]
        }
    }
}
