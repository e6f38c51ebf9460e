import BizProtos
import GRPCCore

/// Identity failures other than OAuth2 grant errors.
public enum IdentityError: Error, Sendable, Hashable, CustomStringConvertible {
    case misconfigured(String)
    case invalidArgument(field: String, problem: String)
    /// Well-formed, but against a rule of the platform (422): a combination of grants and roles that makes no client.
    case unprocessable(field: String, problem: String)
    case conflict(String)
    case notFound(String)
    case forbidden(String)

    public var description: String {
        switch self {
        case .misconfigured(let reason): "identity is misconfigured: \(reason)"
        case .invalidArgument(let field, let problem), .unprocessable(let field, let problem): "\(field) \(problem)"
        case .conflict(let reason), .notFound(let reason), .forbidden(let reason): reason
        }
    }
}

extension IdentityError: RPCErrorConvertible {
    public var rpcErrorCode: RPCError.Code {
        switch self {
        case .misconfigured: .internalError
        case .invalidArgument, .unprocessable: .invalidArgument
        case .conflict: .alreadyExists
        case .notFound: .notFound
        case .forbidden: .permissionDenied
        }
    }

    public var rpcErrorMessage: String { description }

    public var rpcErrorMetadata: Metadata {
        switch self {
        case .invalidArgument(let field, _): [ErrorMetadata.field: "\(field)"]
        case .unprocessable(let field, _):
            [ErrorMetadata.field: "\(field)", ErrorMetadata.reason: "\(ErrorMetadata.Reason.unprocessable)"]
        default: [:]
        }
    }
}

/// An RFC 6749 §5.2 token error; the code travels in the `oauth-error` metadata so the gateway can answer with it.
public struct OAuthError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: String
    public var reason: String
    /// For `slow_down` and `temporarily_unavailable`: seconds before trying again (the gateway's `Retry-After`).
    public var retryAfter: Int?
    /// A `slow_down` that is an account's lockout (the login page says so).
    public var lockout = false

    public init(_ code: String, _ reason: String, retryAfter: Int? = nil, lockout: Bool = false) {
        self.code = code
        self.reason = reason
        self.retryAfter = retryAfter
        self.lockout = lockout
    }

    /// Too many login attempts from this address or for this username (HTTP 429).
    public static func slowDown(retryAfter: Int) -> OAuthError {
        .init("slow_down", "too many login attempts; retry in \(retryAfter) s", retryAfter: retryAfter)
    }
    /// Too many failed logins for this account: sign-in is stopped for `retryAfter` seconds (HTTP 429).
    public static func locked(retryAfter: Int) -> OAuthError {
        .init(
            "slow_down", "too many failed logins: sign-in is locked for \(retryAfter) s", retryAfter: retryAfter,
            lockout: true)
    }
    /// Too many password checks waiting already (HTTP 503).
    public static let temporarilyUnavailable = OAuthError(
        "temporarily_unavailable", "the server is busy checking passwords; retry shortly", retryAfter: 1)

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
    public var rpcErrorCode: RPCError.Code {
        switch code {
        case "invalid_client": .unauthenticated
        case "slow_down": .resourceExhausted
        case "temporarily_unavailable": .unavailable
        default: .invalidArgument
        }
    }
    public var rpcErrorMessage: String { reason }
    public var rpcErrorMetadata: Metadata {
        var metadata: Metadata = ["oauth-error": "\(code)"]
        if let retryAfter { metadata.addString("\(retryAfter)", forKey: "retry-after") }
        if lockout { metadata.addString("1", forKey: "login-lockout") }
        return metadata
    }
}
