import BizTelemetry
import GRPCCore
import Logging

/// Verifies every call's bearer token and binds ``Caller/current`` for the handler.
///
/// The client IP is the gRPC peer's address, unless the call also carries a valid gateway token, in which case the
/// gateway's `x-biz-client-ip` is used: a forged header from anyone else changes nothing. Methods listed in
/// `publicMethods` (token issuance, public keys) run without credentials.
public struct AuthInterceptor: ServerInterceptor {
    public var verifier: TokenVerifier
    public var publicMethods: Set<String>
    /// Services (fully qualified names) whose every call needs one of these roles.
    public var requiredRoles: [String: Set<String>]
    /// Services only the platform's own operators (tenant `platform`) may call: their data spans every tenant.
    public var platformOnly: Set<String>
    /// Methods (fully qualified) that need another scope than `api`, such as userinfo's `openid`.
    public var methodScopes: [String: String]
    public var logger: Logger

    public init(
        verifier: TokenVerifier, publicMethods: Set<String> = [], requiredRoles: [String: Set<String>] = [:],
        platformOnly: Set<String> = [], methodScopes: [String: String] = [:], logger: Logger
    ) {
        self.verifier = verifier
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
        if publicMethods.contains(context.descriptor.fullyQualifiedMethod) {
            return try await RequestOrigin.$clientIP.withValue(try await clientIP(request.metadata, context)) {
                try await next(request, context)
            }
        }
        guard let token = Self.bearer(request.metadata, CallMetadata.authorization) else {
            throw AuthError.unauthenticated("a bearer token is required")
        }
        let principal = try await verifier.verify(token)
        let scope = methodScopes[context.descriptor.fullyQualifiedMethod] ?? Self.apiScope
        guard principal.scopes.contains(scope) else {
            throw AuthError.forbidden("the token does not grant the \(scope) scope")
        }
        let service = context.descriptor.service.fullyQualifiedService
        if platformOnly.contains(service), principal.tenantID != Self.platformTenant {
            throw AuthError.forbidden("only the platform's operators may call this service")
        }
        if let roles = requiredRoles[service],
            !principal.roles.contains(where: roles.contains)
        {
            throw AuthError.forbidden("this needs one of the roles: \(roles.sorted().joined(separator: ", "))")
        }
        let caller = Caller(
            principal: principal, clientIP: try await clientIP(request.metadata, context), traceID: trace.traceID,
            credentials: .init(
                bearer: token, gatewayBearer: Self.bearer(request.metadata, CallMetadata.gatewayAuthorization)))
        return try await Caller.$current.withValue(caller) {
            try await next(request, context)
        }
    }

    /// The gRPC peer's address, unless the call carries a valid gateway token with the address the gateway saw.
    func clientIP(_ metadata: Metadata, _ context: ServerContext) async throws -> String {
        if let attested = metadata[stringValues: CallMetadata.clientIP].first(where: { _ in true }),
            let gatewayToken = Self.bearer(metadata, CallMetadata.gatewayAuthorization),
            let gateway = try? await verifier.verify(gatewayToken), gateway.has(role: CallMetadata.gatewayRole)
        {
            return attested
        }
        return Self.ipAddress(ofPeer: context.remotePeer)
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
