import Foundation
import GRPCCore
import Synchronization

/// The verified identity of a call, as services see it: who (from the token), from where (the attested client IP)
/// and in which request (the W3C trace id). Set by ``AuthInterceptor`` for the duration of a call.
public struct Caller: Sendable, Hashable {
    public var principal: Principal
    public var clientIP: String
    public var traceID: String
    /// The bearer tokens the call came with, so a service calling another on the caller's behalf passes the same
    /// identity (and the gateway's attestation of `clientIP`) on.
    public var credentials: Credentials?

    /// Printed as `[REDACTED]`, wherever a caller is printed.
    public struct Credentials: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
        public var bearer: String
        public var gatewayBearer: String?

        public init(bearer: String, gatewayBearer: String?) {
            self.bearer = bearer
            self.gatewayBearer = gatewayBearer
        }

        public var description: String { "[REDACTED]" }
        public var debugDescription: String { description }
    }

    public init(principal: Principal, clientIP: String, traceID: String, credentials: Credentials? = nil) {
        self.principal = principal
        self.clientIP = clientIP
        self.traceID = traceID
        self.credentials = credentials
    }

    /// gRPC metadata for a call made on this caller's behalf: its token, and the gateway's attestation of its IP when
    /// the call had one. The trace context is the client interceptor's.
    public var forwardingMetadata: Metadata {
        var metadata = Metadata()
        guard let credentials else { return metadata }
        metadata.addString("Bearer \(credentials.bearer)", forKey: CallMetadata.authorization)
        if let gateway = credentials.gatewayBearer {
            metadata.addString("Bearer \(gateway)", forKey: CallMetadata.gatewayAuthorization)
            metadata.addString(clientIP, forKey: CallMetadata.clientIP)
        }
        return metadata
    }

    @TaskLocal public static var current: Caller?

    /// The caller of the current call; services only run behind ``AuthInterceptor``, so its absence is a bug.
    public static func require() throws(AuthError) -> Caller {
        guard let current else { throw .unauthenticated("the call carries no verified credentials") }
        return current
    }
}
