import BizTelemetry
import GRPCCore
import Logging

/// Verifies every call's bearer token and binds ``Caller/current`` for the handler.
///
/// - `authorization` is who the call acts for: a token of the API (a user, a client), or a service account's token
///   whose audience is the called service (a service acting on its own).
/// - `x-biz-service-authorization`, when present, is the platform service making the call (the gateway, or a service
///   calling another): a service account's token meant for the called service, or the call is refused. Only then is
///   the caller's `x-biz-client-ip` believed; otherwise the client IP is the gRPC peer's address, so a forged header
///   changes nothing.
///
/// Methods listed in `publicMethods` (token issuance, public keys) run without credentials.
public struct AuthInterceptor: ServerInterceptor {
    public var verifier: TokenVerifier
    /// The module (`team`) that serves each fully qualified service: service tokens must name it in their audience.
    public var receivers: [String: String]
    public var publicMethods: Set<String>
    /// Services (fully qualified names) whose every call needs one of these roles.
    public var requiredRoles: [String: Set<String>]
    /// Services only the platform's own operators (tenant `platform`) may call: their data spans every tenant.
    public var platformOnly: Set<String>
    /// Methods (fully qualified) that need another scope than `api`, such as userinfo's `openid`.
    public var methodScopes: [String: String]
    public var logger: Logger

    public init(
        verifier: TokenVerifier, receivers: [String: String] = [:], publicMethods: Set<String> = [],
        requiredRoles: [String: Set<String>] = [:], platformOnly: Set<String> = [],
        methodScopes: [String: String] = [:], logger: Logger
    ) {
        self.verifier = verifier
        self.receivers = receivers
        self.publicMethods = publicMethods
        self.requiredRoles = requiredRoles
        self.platformOnly = platformOnly
        self.methodScopes = methodScopes
        self.logger = logger
    }

    /// The tenant of the platform's own operators.
    public static let platformTenant = "platform"
    /// The scope every call needs unless `methodScopes` names another.
    public static let apiScope = "api"

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        // The server span's trace when a tracer runs (it continued the caller's), else the caller's traceparent.
        let trace =
            TraceContext.current
            ?? request.metadata[stringValues: CallMetadata.traceparent].first(where: { _ in true })
            .flatMap(TraceContext.init(traceparent:)) ?? .random()
        let service = context.descriptor.service.fullyQualifiedService
        let receiver = receivers[service].map(ServiceAccount.audience(of:))
        let (via, clientIP) = try await origin(request.metadata, context, receiver: receiver)
        if publicMethods.contains(context.descriptor.fullyQualifiedMethod) {
            return try await RequestOrigin.$clientIP.withValue(clientIP) { try await next(request, context) }
        }
        guard let token = Self.bearer(request.metadata, CallMetadata.authorization) else {
            throw AuthError.unauthenticated("a bearer token is required")
        }
        let principal = try await verifier.verify(token, for: receiver)
        let scope = methodScopes[context.descriptor.fullyQualifiedMethod] ?? Self.apiScope
        guard principal.scopes.contains(scope) else {
            throw AuthError.forbidden("the token does not grant the \(scope) scope")
        }
        if platformOnly.contains(service), principal.tenantID != Self.platformTenant {
            throw AuthError.forbidden("only the platform's operators may call this service")
        }
        if let roles = requiredRoles[service],
            !principal.roles.contains(where: roles.contains)
        {
            throw AuthError.forbidden("this needs one of the roles: \(roles.sorted().joined(separator: ", "))")
        }
        let caller = Caller(
            principal: principal, clientIP: clientIP, traceID: trace.traceID, credentials: .init(bearer: token),
            service: via)
        return try await Caller.$current.withValue(caller) {
            try await next(request, context)
        }
    }

    /// The platform service making the call, when it says it is one, and the client IP: the one that service
    /// attests, else the gRPC peer's address.
    func origin(_ metadata: Metadata, _ context: ServerContext, receiver: String?) async throws(AuthError) -> (
        Principal?, String
    ) {
        let peer = Self.ipAddress(ofPeer: context.remotePeer)
        guard let token = Self.bearer(metadata, CallMetadata.serviceAuthorization) else { return (nil, peer) }
        let service = try await verifier.verify(token, for: receiver ?? "")
        guard service.isServiceAccount else {
            throw .unauthenticated("x-biz-service-authorization must be a platform service's token")
        }
        return (service, metadata[stringValues: CallMetadata.clientIP].first(where: { _ in true }) ?? peer)
    }

    static func bearer(_ metadata: Metadata, _ key: String) -> String? {
        guard let value = metadata[stringValues: key].first(where: { _ in true }) else { return nil }
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", !parts[1].isEmpty else { return nil }
        return String(parts[1])
    }

    /// `ipv4:127.0.0.1:5000` → `127.0.0.1`; `ipv6:[::1]:5000` → `::1`; `in-process:<pid>` (a caller in this very
    /// process, the embedded mode's transport) → `127.0.0.1`.
    public static func ipAddress(ofPeer peer: String) -> String {
        if peer.hasPrefix("in-process") { return "127.0.0.1" }
        if peer.hasPrefix("ipv4:") {
            let rest = peer.dropFirst(5)
            return String(rest[..<(rest.lastIndex(of: ":") ?? rest.endIndex)])
        }
        if peer.hasPrefix("ipv6:") {
            let rest = peer.dropFirst(5)
            if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
                return String(rest[rest.index(after: rest.startIndex)..<close])
            }
            return String(rest)
        }
        return peer
    }
}
