/// What an OAuth2 client is for. A client is one kind, never both: a login client's secret must not also be a
/// service account with roles of its own.
public enum ClientKind: String, Sendable, Hashable {
    /// Signs users in (`authorization_code` with PKCE, `password` for first-party clients, and `refresh_token`): its
    /// tokens carry the user's tenant and roles, never the client's, and it has no roles of its own.
    case login
    /// Acts as itself (`client_credentials` only), with roles of its own.
    case service

    public static let loginGrants: Set<String> = ["authorization_code", "password", "refresh_token"]
    public static let serviceGrants: Set<String> = ["client_credentials"]
    /// The grants a public client (no secret: a browser or mobile app) may use.
    public static let publicGrants: Set<String> = ["authorization_code", "refresh_token"]

    /// The kind these grants and roles make, or why they make none.
    public static func of(
        grantTypes: some Collection<String>, roles: [String], firstParty: Bool, publicClient: Bool = false,
        redirectURIs: [String] = []
    ) throws(IdentityError) -> ClientKind {
        let grants = Set(grantTypes)
        if !grants.isEmpty, grants.isSubset(of: serviceGrants) {
            guard !publicClient else {
                throw .unprocessable(field: "token_endpoint_auth_method", problem: "a service client needs a secret")
            }
            guard !roles.isEmpty else {
                throw .unprocessable(field: "roles", problem: "a service client needs at least one role")
            }
            return .service
        }
        if grants.isSubset(of: loginGrants), grants.contains("password") || grants.contains("authorization_code") {
            if grants.contains("password") {
                guard firstParty else {
                    throw .unprocessable(field: "grant_types", problem: "password is for first-party clients only")
                }
                guard !publicClient else {
                    throw .unprocessable(
                        field: "grant_types",
                        problem: "a public client may use authorization_code and refresh_token only")
                }
            }
            if grants.contains("authorization_code") {
                guard !redirectURIs.isEmpty else {
                    throw .unprocessable(field: "redirect_uris", problem: "authorization_code needs a redirect URI")
                }
            }
            guard roles.isEmpty else {
                throw .unprocessable(
                    field: "roles", problem: "a login client has no roles of its own: its tokens carry the user's")
            }
            return .login
        }
        throw .unprocessable(
            field: "grant_types",
            problem: "must be client_credentials (a service client), or authorization_code and/or password with "
                + "refresh_token (a login client), never both")
    }
}

extension ClientRecord {
    /// The client's kind; nil for a client stored before kinds were separated that mixes them (refused every grant
    /// until `IdentityBootstrap` separates it at start).
    public var kind: ClientKind? {
        try? ClientKind.of(
            grantTypes: grantTypes, roles: roles, firstParty: firstParty, publicClient: publicClient,
            redirectURIs: redirectURIs)
    }
}
