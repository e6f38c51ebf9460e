import Foundation
import GRPCCore
import Synchronization

/// The verified identity of a call, as services see it: who (from the token), from where (the attested client IP)
/// and in which request (the W3C trace id). Set by ``AuthInterceptor`` for the duration of a call.
public struct Caller: Sendable, Hashable {
    public var principal: Principal
    public var clientIP: String
    public var traceID: String
    /// The bearer token the call came with, so a service calling another on the caller's behalf passes the same
    /// identity on (``ServiceIdentity/metadata(onBehalfOf:)``).
    public var credentials: Credentials?
    /// The platform service that made the call (the gateway, or a service calling another), when one did.
    public var service: Principal?

    /// Printed as `[REDACTED]`, wherever a caller is printed.
    public struct Credentials: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
        public var bearer: String

        public init(bearer: String) { self.bearer = bearer }

        public var description: String { "[REDACTED]" }
        public var debugDescription: String { description }
    }

    public init(
        principal: Principal, clientIP: String, traceID: String, credentials: Credentials? = nil,
        service: Principal? = nil
    ) {
        self.principal = principal
        self.clientIP = clientIP
        self.traceID = traceID
        self.credentials = credentials
        self.service = service
    }

    @TaskLocal public static var current: Caller?

    /// The caller of the current call; services only run behind ``AuthInterceptor``, so its absence is a bug.
    public static func require() throws(AuthError) -> Caller {
        guard let current else { throw .unauthenticated("the call carries no verified credentials") }
        return current
    }
}
