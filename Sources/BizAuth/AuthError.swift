import GRPCCore

/// Why a caller was not authenticated or not allowed. Descriptions never include the token.
public struct AuthError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// No credentials, or credentials that do not verify: 401 / UNAUTHENTICATED.
        case unauthenticated
        /// Verified, but not allowed: 403 / PERMISSION_DENIED.
        case forbidden
    }

    public var kind: Kind
    public var reason: String

    public init(_ kind: Kind, _ reason: String) {
        self.kind = kind
        self.reason = reason
    }

    public static func unauthenticated(_ reason: String) -> AuthError { AuthError(.unauthenticated, reason) }
    public static func forbidden(_ reason: String) -> AuthError { AuthError(.forbidden, reason) }

    public var description: String { reason }
}

extension AuthError: RPCErrorConvertible {
    public var rpcErrorCode: RPCError.Code { kind == .unauthenticated ? .unauthenticated : .permissionDenied }
    public var rpcErrorMessage: String { reason }
}
