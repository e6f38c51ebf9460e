import Foundation
import Synchronization

/// The verified identity of a call, as services see it: who (from the token), from where (the attested client IP)
/// and in which request (the W3C trace id). Set by ``AuthInterceptor`` for the duration of a call.
public struct Caller: Sendable, Hashable {
    public var principal: Principal
    public var clientIP: String
    public var traceID: String

    public init(principal: Principal, clientIP: String, traceID: String) {
        self.principal = principal
        self.clientIP = clientIP
        self.traceID = traceID
    }

    @TaskLocal public static var current: Caller?

    /// The caller of the current call; services only run behind ``AuthInterceptor``, so its absence is a bug.
    public static func require() throws(AuthError) -> Caller {
        guard let current else { throw .unauthenticated("the call carries no verified credentials") }
        return current
    }
}
