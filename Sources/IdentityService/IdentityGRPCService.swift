import BizAuth
import BizEvents
import BizProtos
import BizServiceKit
import Foundation
import GRPCCore
import SwiftProtobuf

/// The Identity Provider's gRPC API (`bizretail.identity.v1.IdentityService`).
public struct IdentityGRPCService: Bizretail_Identity_V1_IdentityService.SimpleServiceProtocol {
    public var issuer: TokenIssuer
    public var directory: IdentityDirectory
    public var pageTokens: PageTokens

    public init(issuer: TokenIssuer, directory: IdentityDirectory, pageTokens: PageTokens) {
        self.issuer = issuer
        self.directory = directory
        self.pageTokens = pageTokens
    }

    /// Calls that need no bearer token.
    public static let publicMethods: Set<String> = [
        Bizretail_Identity_V1_IdentityService.Method.IssueToken.descriptor.fullyQualifiedMethod,
        Bizretail_Identity_V1_IdentityService.Method.GetSigningKeys.descriptor.fullyQualifiedMethod,
        Bizretail_Identity_V1_IdentityService.Method.RevokeToken.descriptor.fullyQualifiedMethod,
        Bizretail_Identity_V1_IdentityService.Method.IntrospectToken.descriptor.fullyQualifiedMethod,
        Bizretail_Identity_V1_IdentityService.Method.Authorize.descriptor.fullyQualifiedMethod,
        Bizretail_Identity_V1_IdentityService.Method.SignIn.descriptor.fullyQualifiedMethod,
        Bizretail_Identity_V1_IdentityService.Method.EndSession.descriptor.fullyQualifiedMethod,
    ]

    public func issueToken(
        request: Bizretail_Identity_V1_IssueTokenRequest, context: ServerContext
    ) async throws -> Bizretail_Identity_V1_IssueTokenResponse {
        let token = try await issuer.issue(
            TokenRequest(
                grantType: request.grantType, clientID: request.clientID, clientSecret: request.clientSecret,
                username: request.username, password: request.password, refreshToken: request.refreshToken,
                scope: request.scope, code: request.code, redirectURI: request.redirectUri,
                codeVerifier: request.codeVerifier
            )
        )
        return .with {
            $0.accessToken = token.accessToken
            $0.tokenType = "Bearer"
            $0.expiresIn = Int64(token.expiresIn)
            $0.refreshToken = token.refreshToken ?? ""
            $0.scope = token.scope
            $0.idToken = token.idToken ?? ""
        }
    }

    public func rotateSigningKeys(
        request: Bizretail_Identity_V1_RotateSigningKeysRequest, context: ServerContext
    ) async throws -> Bizretail_Identity_V1_RotateSigningKeysResponse {
        let caller = try Caller.require()
        guard caller.principal.has(role: Roles.admin), caller.principal.tenantID == Roles.platformTenant else {
            throw AuthError.forbidden("rotating the signing keys needs a platform admin")
        }
        let kid = try await issuer.keys.rotate(caller: caller)
        let served = (try? JSONParser.parse(Array(try await issuer.keys.jwks().utf8)))?["keys"]?.arrayValue ?? []
        return .with {
            $0.kid = kid
            $0.servedKids = served.compactMap { $0["kid"]?.stringValue }
        }
    }

    public func authorize(request: Bizretail_Identity_V1_AuthorizeRequest, context: ServerContext) async throws
        -> Bizretail_Identity_V1_AuthorizeResponse
    {
        switch try await issuer.authorize(request.parameters, session: request.session) {
        case .redirect(let location): return .with { $0.redirectTo = location }
        case .signIn(let pending): return .with { $0.clientName = pending.client.name }
        }
    }

    public func signIn(request: Bizretail_Identity_V1_SignInRequest, context: ServerContext) async throws
        -> Bizretail_Identity_V1_AuthorizeResponse
    {
        let (location, session) = try await issuer.signIn(
            request.parameters, email: request.email, password: request.password)
        return .with {
            $0.redirectTo = location
            if let session {
                $0.session = session
                $0.sessionMaxAge = Int64(issuer.sessionLifetime)
            }
        }
    }

    public func endSession(request: Bizretail_Identity_V1_EndSessionRequest, context: ServerContext) async throws
        -> Bizretail_Identity_V1_EndSessionResponse
    {
        let location = try await issuer.endSession(request)
        return .with { $0.redirectTo = location ?? "" }
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
        let generated = request.password.isEmpty ? IdentityDirectory.generatedPassword() : nil
        let user = try await directory.createUser(
            tenantID: tenant, email: request.email, name: request.name, password: generated ?? request.password,
            roles: request.roles, caller: caller
        )
        var answer = Bizretail_Identity_V1_User(user)
        if let generated { answer.generatedPassword = generated }
        return answer
    }

    /// The calling admin, and the tenant whose users it may see (nil: any, for a platform admin).
    static func userAdmin() throws -> (Caller, String?) {
        let caller = try Caller.require()
        guard caller.principal.has(role: Roles.admin) else {
            throw AuthError.forbidden("managing users and clients needs the admin role")
        }
        let tenant = caller.principal.tenantID
        return (caller, tenant == Roles.platformTenant ? nil : tenant)
    }

    static func userID(_ id: String) throws -> String {
        let id = id.lowercased()
        guard EventID.isUUID(id) else { throw IdentityError.notFound("user not found") }
        return id
    }

    public func getUser(request: Bizretail_Identity_V1_GetUserRequest, context: ServerContext) async throws
        -> Bizretail_Identity_V1_User
    {
        let (_, tenant) = try Self.userAdmin()
        return .init(try await directory.user(try Self.userID(request.publicID), in: tenant))
    }

    public func listUsers(request: Bizretail_Identity_V1_ListUsersRequest, context: ServerContext) async throws
        -> Bizretail_Identity_V1_ListUsersResponse
    {
        let (_, tenant) = try Self.adminActing(in: request.tenantID.lowercased(), to: "list users")
        let size = try Pagination.lists.size(request.pageSize)
        let rows = try await directory.users(
            tenantID: tenant, after: try pageTokens.position(of: request.pageToken), limit: size + 1)
        let page = pageTokens.page(rows, size: size, position: \.id)
        return .with {
            $0.users = page.rows.map { Bizretail_Identity_V1_User($0.user) }
            $0.nextPageToken = page.next
        }
    }

    public func updateUser(request: Bizretail_Identity_V1_UpdateUserRequest, context: ServerContext) async throws
        -> Bizretail_Identity_V1_User
    {
        let (caller, tenant) = try Self.userAdmin()
        return .init(
            try await directory.changeUser(
                try Self.userID(request.publicID), in: tenant,
                .update(
                    name: request.hasName ? request.name : nil, roles: request.hasRoles ? request.roles.roles : nil),
                expectedVersion: request.hasExpectedVersion ? request.expectedVersion : nil, caller: caller))
    }

    public func setUserEnabled(request: Bizretail_Identity_V1_SetUserEnabledRequest, context: ServerContext)
        async throws -> Bizretail_Identity_V1_User
    {
        let (caller, tenant) = try Self.userAdmin()
        return .init(
            try await directory.changeUser(
                try Self.userID(request.publicID), in: tenant, .enable(request.enabled), caller: caller))
    }

    public func deleteUser(request: Bizretail_Identity_V1_DeleteUserRequest, context: ServerContext) async throws
        -> Bizretail_Identity_V1_DeleteUserResponse
    {
        let (caller, tenant) = try Self.userAdmin()
        try await directory.changeUser(try Self.userID(request.publicID), in: tenant, .delete, caller: caller)
        return .init()
    }

    public func unlockUser(request: Bizretail_Identity_V1_UnlockUserRequest, context: ServerContext) async throws
        -> Bizretail_Identity_V1_User
    {
        let (caller, tenant) = try Self.userAdmin()
        return .init(try await directory.unlock(try Self.userID(request.publicID), in: tenant, caller: caller))
    }

    public func resetUserPassword(
        request: Bizretail_Identity_V1_ResetUserPasswordRequest, context: ServerContext
    ) async throws -> Bizretail_Identity_V1_User {
        let (caller, tenant) = try Self.userAdmin()
        let id = try Self.userID(request.publicID)
        // Another tenant's user is not found before any password is looked at.
        let user = try await directory.user(id, in: tenant)
        let generated = request.password.isEmpty ? IdentityDirectory.generatedPassword() : nil
        let password = generated ?? request.password
        try IdentityDirectory.checkPassword(password, email: user.email)
        let hash = try await directory.passwords.hash(password)
        var answer = Bizretail_Identity_V1_User(
            try await directory.changeUser(id, in: tenant, .password(hash: hash), caller: caller))
        if let generated { answer.generatedPassword = generated }
        return answer
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
        let name = try TextInput.required(request.name, field: "name", limit: 200)
        let grants = Set(request.grantTypes)
        guard grants.isSubset(of: ClientKind.loginGrants.union(ClientKind.serviceGrants)) else {
            throw IdentityError.invalidArgument(
                field: "grant_types",
                problem: "must be client_credentials, or authorization_code, password and refresh_token")
        }
        guard request.roles.allSatisfy(Roles.assignable.contains) else {
            throw IdentityError.invalidArgument(
                field: "roles", problem: "must be among \(Roles.assignable.sorted().joined(separator: ", "))"
            )
        }
        let redirectURIs = try RedirectURIs.checked(request.redirectUris)
        _ = try ClientKind.of(
            grantTypes: grants, roles: request.roles, firstParty: request.firstParty,
            publicClient: request.publicClient, redirectURIs: redirectURIs)
        let clientID = "c-" + Secrets.random(bytes: 12)
        let secret = request.publicClient ? "" : Secrets.random()
        let client = try await directory.createClient(
            clientID: clientID, secret: secret, name: name, tenantID: tenant, roles: request.roles,
            grantTypes: grants.sorted(), firstParty: request.firstParty, redirectURIs: redirectURIs,
            publicClient: request.publicClient, caller: caller
        )
        return .with {
            $0.publicID = client.publicID
            $0.clientID = clientID
            $0.clientSecret = secret
            $0.client = .init(client)
        }
    }

    public func listClients(request: Bizretail_Identity_V1_ListClientsRequest, context: ServerContext) async throws
        -> Bizretail_Identity_V1_ListClientsResponse
    {
        let (_, tenant) = try Self.adminActing(in: request.tenantID.lowercased(), to: "list clients")
        let size = try Pagination.lists.size(request.pageSize)
        let rows = try await directory.clients(
            tenantID: tenant, after: try pageTokens.position(of: request.pageToken), limit: size + 1)
        let page = pageTokens.page(rows, size: size, position: \.id)
        return .with {
            $0.clients = page.rows.map { Bizretail_Identity_V1_Client($0.client) }
            $0.nextPageToken = page.next
        }
    }

    public func getClient(request: Bizretail_Identity_V1_GetClientRequest, context: ServerContext) async throws
        -> Bizretail_Identity_V1_Client
    {
        let (_, tenant) = try Self.userAdmin()
        return .init(try await directory.client(publicID: try Self.clientID(request.publicID), in: tenant))
    }

    public func setClientEnabled(request: Bizretail_Identity_V1_SetClientEnabledRequest, context: ServerContext)
        async throws -> Bizretail_Identity_V1_Client
    {
        let (caller, tenant) = try Self.userAdmin()
        return .init(
            try await directory.changeClient(
                try Self.clientID(request.publicID), in: tenant, .enable(request.enabled), caller: caller))
    }

    public func rotateClientSecret(
        request: Bizretail_Identity_V1_RotateClientSecretRequest, context: ServerContext
    ) async throws -> Bizretail_Identity_V1_CreateClientResponse {
        let (caller, tenant) = try Self.userAdmin()
        let secret = Secrets.random()
        let client = try await directory.changeClient(
            try Self.clientID(request.publicID), in: tenant, .secret(hash: Secrets.hash(secret)), caller: caller)
        return .with {
            $0.publicID = client.publicID
            $0.clientID = client.clientID
            $0.clientSecret = secret
            $0.client = .init(client)
        }
    }

    static func clientID(_ id: String) throws -> String {
        let id = id.lowercased()
        guard EventID.isUUID(id) else { throw IdentityError.notFound("client not found") }
        return id
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

extension Bizretail_Identity_V1_Client {
    /// Never the secret or its hash.
    init(_ client: ClientRecord) {
        self = .with {
            $0.publicID = client.publicID
            $0.clientID = client.clientID
            $0.name = client.name
            $0.tenantID = client.tenantID
            $0.roles = client.roles
            $0.grantTypes = client.grantTypes
            $0.firstParty = client.firstParty
            $0.redirectUris = client.redirectURIs
            $0.publicClient = client.publicClient
            $0.enabled = client.enabled
            $0.createdAt = .init(rfc3339: client.createdAt)
        }
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
            $0.createdAt = .init(rfc3339: user.createdAt)
            $0.updatedAt = .init(rfc3339: user.updatedAt.isEmpty ? user.createdAt : user.updatedAt)
            $0.version = user.version
        }
    }
}
