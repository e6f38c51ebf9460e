import BizAuth
import BizEvents
import BizProtos
import Foundation
import GRPCCore
import SwiftProtobuf

/// The Identity Provider's gRPC API (`bizretail.identity.v1.IdentityService`).
public struct IdentityGRPCService: Bizretail_Identity_V1_IdentityService.SimpleServiceProtocol {
    public var issuer: TokenIssuer
    public var directory: IdentityDirectory

    public init(issuer: TokenIssuer, directory: IdentityDirectory) {
        self.issuer = issuer
        self.directory = directory
    }

    /// Calls that need no bearer token.
    public static let publicMethods: Set<String> = [
        Bizretail_Identity_V1_IdentityService.Method.IssueToken.descriptor.fullyQualifiedMethod,
        Bizretail_Identity_V1_IdentityService.Method.GetSigningKeys.descriptor.fullyQualifiedMethod,
        Bizretail_Identity_V1_IdentityService.Method.RevokeToken.descriptor.fullyQualifiedMethod,
        Bizretail_Identity_V1_IdentityService.Method.IntrospectToken.descriptor.fullyQualifiedMethod,
    ]

    public func issueToken(
        request: Bizretail_Identity_V1_IssueTokenRequest, context: ServerContext
    ) async throws -> Bizretail_Identity_V1_IssueTokenResponse {
        let token = try await issuer.issue(
            TokenRequest(
                grantType: request.grantType, clientID: request.clientID, clientSecret: request.clientSecret,
                username: request.username, password: request.password, refreshToken: request.refreshToken,
                scope: request.scope
            )
        )
        return .with {
            $0.accessToken = token.accessToken
            $0.tokenType = "Bearer"
            $0.expiresIn = Int64(token.expiresIn)
            $0.refreshToken = token.refreshToken ?? ""
            $0.scope = token.scope
        }
    }

    public func getSigningKeys(
        request: Bizretail_Identity_V1_GetSigningKeysRequest, context: ServerContext
    ) async throws -> Bizretail_Identity_V1_GetSigningKeysResponse {
        let jwks = try await issuer.keys.jwks()
        return .with { $0.jwksJson = jwks }
    }

    public func getUserInfo(
        request: Bizretail_Identity_V1_GetUserInfoRequest, context: ServerContext
    ) async throws -> Bizretail_Identity_V1_User {
        let caller = try Caller.require()
        guard caller.principal.ownerType == "user",
            let user = try await directory.user(publicID: caller.principal.subject)
        else { throw IdentityError.notFound("the token does not belong to a user") }
        return Bizretail_Identity_V1_User(user)
    }

    public func createUser(
        request: Bizretail_Identity_V1_CreateUserRequest, context: ServerContext
    ) async throws -> Bizretail_Identity_V1_User {
        let (caller, tenant) = try Self.adminActing(in: request.tenantID, to: "create users")
        let user = try await directory.createUser(
            tenantID: tenant, email: request.email, name: request.name, password: request.password,
            roles: request.roles, caller: caller
        )
        return Bizretail_Identity_V1_User(user)
    }
}

extension IdentityGRPCService {
    /// The calling admin, and the tenant it acts in: the requested one (the caller's own when empty), which must be
    /// its own unless the caller is a platform admin.
    static func adminActing(in requestedTenant: String, to action: String) throws -> (Caller, String) {
        let caller = try Caller.require()
        guard caller.principal.has(role: Roles.admin) else {
            throw AuthError.forbidden("to \(action) needs the admin role")
        }
        let tenant = requestedTenant.isEmpty ? caller.principal.tenantID : requestedTenant
        guard tenant == caller.principal.tenantID || caller.principal.tenantID == Roles.platformTenant else {
            throw AuthError.forbidden("an admin may only \(action) in their own tenant")
        }
        return (caller, tenant)
    }

    public func createClient(
        request: Bizretail_Identity_V1_CreateClientRequest, context: ServerContext
    ) async throws -> Bizretail_Identity_V1_CreateClientResponse {
        let (caller, tenant) = try Self.adminActing(in: request.tenantID, to: "register clients")
        let name = request.name.trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty else { throw IdentityError.invalidArgument(field: "name", problem: "is required") }
        let grants = Set(request.grantTypes)
        guard grants.isSubset(of: ClientKind.loginGrants.union(ClientKind.serviceGrants)) else {
            throw IdentityError.invalidArgument(
                field: "grant_types", problem: "must be client_credentials, or password and refresh_token")
        }
        guard request.roles.allSatisfy(Roles.assignable.contains) else {
            throw IdentityError.invalidArgument(
                field: "roles", problem: "must be among \(Roles.assignable.sorted().joined(separator: ", "))"
            )
        }
        _ = try ClientKind.of(grantTypes: grants, roles: request.roles, firstParty: request.firstParty)
        let clientID = "c-" + Secrets.random(bytes: 12)
        let secret = Secrets.random()
        let client = try await directory.createClient(
            clientID: clientID, secret: secret, name: name, tenantID: tenant, roles: request.roles,
            grantTypes: grants.sorted(), firstParty: request.firstParty, caller: caller
        )
        return .with {
            $0.publicID = client.publicID
            $0.clientID = clientID
            $0.clientSecret = secret
        }
    }
}

extension IdentityGRPCService {
    public func revokeToken(
        request: Bizretail_Identity_V1_RevokeTokenRequest, context: ServerContext
    ) async throws -> Bizretail_Identity_V1_RevokeTokenResponse {
        try await issuer.revoke(
            token: request.token, hint: request.tokenTypeHint, clientID: request.clientID, secret: request.clientSecret
        )
        return .init()
    }

    public func introspectToken(
        request: Bizretail_Identity_V1_IntrospectTokenRequest, context: ServerContext
    ) async throws -> Bizretail_Identity_V1_IntrospectTokenResponse {
        try await issuer.introspect(token: request.token, clientID: request.clientID, secret: request.clientSecret)
    }
}

extension Bizretail_Identity_V1_User {
    init(_ user: UserRecord) {
        self = .with {
            $0.publicID = user.publicID
            $0.tenantID = user.tenantID
            $0.email = user.email
            $0.name = user.name
            $0.roles = user.roles
            $0.enabled = user.enabled
        }
    }
}
