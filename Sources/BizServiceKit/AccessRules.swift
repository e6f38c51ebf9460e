/// Who may call a module's gRPC services; the runtime merges every module's rules into the one auth interceptor.
public struct AccessRules: Sendable {
    /// Fully qualified methods that run without credentials (token issuance, public keys).
    public var publicMethods: Set<String>
    /// Fully qualified services whose every call needs one of these roles.
    public var requiredRoles: [String: Set<String>]
    /// Fully qualified services only the platform's own operators (tenant `platform`) may call.
    public var platformOnly: Set<String>
    /// Fully qualified methods that need another scope than `api` (userinfo: `openid`).
    public var methodScopes: [String: String]

    public init(
        publicMethods: Set<String> = [], requiredRoles: [String: Set<String>] = [:], platformOnly: Set<String> = [],
        methodScopes: [String: String] = [:]
    ) {
        self.publicMethods = publicMethods
        self.requiredRoles = requiredRoles
        self.platformOnly = platformOnly
        self.methodScopes = methodScopes
    }

    /// Every rule of both.
    public func merging(_ other: AccessRules) -> AccessRules {
        AccessRules(
            publicMethods: publicMethods.union(other.publicMethods),
            requiredRoles: requiredRoles.merging(other.requiredRoles) { $0.union($1) },
            platformOnly: platformOnly.union(other.platformOnly),
            methodScopes: methodScopes.merging(other.methodScopes) { first, _ in first })
    }
}
