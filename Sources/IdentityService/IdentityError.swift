import BizProtos
import GRPCCore

/// Identity failures other than OAuth2 grant errors.
public enum IdentityError: Error, Sendable, Hashable, CustomStringConvertible {
    case misconfigured(String)
    case invalidArgument(field: String, problem: String)
    case conflict(String)
    case notFound(String)
    case forbidden(String)

    public var description: String {
        switch self {
        case .misconfigured(let reason): "identity is misconfigured: \(reason)"
        case .invalidArgument(let field, let problem): "\(field) \(problem)"
        case .conflict(let reason), .notFound(let reason), .forbidden(let reason): reason
        }
    }
}

extension IdentityError: RPCErrorConvertible {
    public var rpcErrorCode: RPCError.Code {
        switch self {
        case .misconfigured: .internalError
        case .invalidArgument: .invalidArgument
        case .conflict: .alreadyExists
        case .notFound: .notFound
        case .forbidden: .permissionDenied
        }
    }

    public var rpcErrorMessage: String { description }

    public var rpcErrorMetadata: Metadata {
        if case .invalidArgument(let field, _) = self { return [ErrorMetadata.field: "\(field)"] }
        return [:]
    }
}

/// An RFC 6749 §5.2 token error; the code travels in the `oauth-error` metadata so the gateway can answer with it.
public struct OAuthError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: String
    public var reason: String

    public init(_ code: String, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public static func invalidRequest(_ reason: String) -> OAuthError { .init("invalid_request", reason) }
    public static func invalidClient(_ reason: String = "client authentication failed") -> OAuthError {
        .init("invalid_client", reason)
    }
    public static func invalidGrant(_ reason: String) -> OAuthError { .init("invalid_grant", reason) }
    public static func unauthorizedClient(_ reason: String) -> OAuthError { .init("unauthorized_client", reason) }
    public static func unsupportedGrantType(_ reason: String) -> OAuthError { .init("unsupported_grant_type", reason) }
    public static func invalidScope(_ reason: String) -> OAuthError { .init("invalid_scope", reason) }

    public var description: String { "\(code): \(reason)" }
}

extension OAuthError: RPCErrorConvertible {
    public var rpcErrorCode: RPCError.Code { code == "invalid_client" ? .unauthenticated : .invalidArgument }
    public var rpcErrorMessage: String { reason }
    public var rpcErrorMetadata: Metadata { ["oauth-error": "\(code)"] }
}
