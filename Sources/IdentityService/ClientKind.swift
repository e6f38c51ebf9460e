/// What an OAuth2 client is for. A client is one kind, never both: a login client's secret must not also be a
/// service account with roles of its own.
public enum ClientKind: String, Sendable, Hashable {
    /// Signs users in (`password`, `refresh_token`): its tokens carry the user's tenant and roles, never the
    /// client's, and it has no roles of its own. First-party only.
    case login
    /// Acts as itself (`client_credentials` only), with roles of its own.
    case service

    public static let loginGrants: Set<String> = ["password", "refresh_token"]
    public static let serviceGrants: Set<String> = ["client_credentials"]

    /// The kind these grants and roles make, or why they make none.
    public static func of(grantTypes: some Collection<String>, roles: [String], firstParty: Bool)
        throws(IdentityError) -> ClientKind
    {
        let grants = Set(grantTypes)
        if !grants.isEmpty, grants.isSubset(of: serviceGrants) {
            guard !roles.isEmpty else {
                throw .unprocessable(field: "roles", problem: "a service client needs at least one role")
            }
            return .service
        }
        if !grants.isEmpty, grants.isSubset(of: loginGrants) {
            guard firstParty else {
                throw .unprocessable(
                    field: "grant_types", problem: "password and refresh_token are for first-party clients only")
            }
            guard roles.isEmpty else {
                throw .unprocessable(
                    field: "roles", problem: "a login client has no roles of its own: its tokens carry the user's")
            }
            return .login
        }
        throw .unprocessable(
            field: "grant_types",
            problem: "must be client_credentials (a service client) or password and refresh_token (a login client), "
                + "never both")
    }
}

extension ClientRecord {
    /// The client's kind; nil for a client stored before kinds were separated that mixes them (refused every grant
    /// until `IdentityBootstrap` separates it at start).
    public var kind: ClientKind? {
        try? ClientKind.of(grantTypes: grantTypes, roles: roles, firstParty: firstParty)
    }
}
