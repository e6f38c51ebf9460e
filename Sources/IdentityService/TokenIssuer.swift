import BizAuth
import BizEvents
import BizFlags
import BizProtos
import BizStorage
import Foundation
import HummingbirdBcrypt
import SQLKit

/// Issues access tokens (ES256 JWTs, 15 minutes) for the `client_credentials`, `password` (first-party clients only),
/// `authorization_code` (with PKCE: ``exchange(_:client:)``) and `refresh_token` (rotating: each refresh token works
/// once; presenting a used one revokes its whole family) grants, and ID tokens for users when the scope holds
/// `openid`.
public struct TokenIssuer: Sendable {
    public var directory: IdentityDirectory
    public var keys: SigningKeyStore
    public var issuer: String
    public var audience: String
    public var accessTokenLifetime: TimeInterval = 900
    public var refreshTokenLifetime: TimeInterval = 30 * 86_400
    /// How long a browser stays signed in (the session cookie) without signing in again.
    public var sessionLifetime: TimeInterval = 8 * 3_600
    /// Compared against when the user does not exist, so timing does not reveal which emails are registered.
    let decoyHash: String
    /// Verifies this issuer's own access tokens, for introspection.
    let verifier: TokenVerifier
    /// Failed password logins per client IP (and the policy for accounts).
    public var throttle = LoginThrottle()
    /// The audiences of the services' accounts' tokens, by client id (``ServiceAccount/audiences``); every other
    /// client's token is for the API.
    public var serviceAudiences: [String: [String]] = [:]
    /// The flag `password-grant` (on by default) turns the password grant off per client: its context carries
    /// `client_id`, the client's `tenant_id` and `service` `identity`.
    public var flags = FeatureFlags()

    public static let passwordGrantFlag = "password-grant"

    public static let knownScopes: Set<String> = ["openid", "profile", "email", "api"]

    public init(directory: IdentityDirectory, keys: SigningKeyStore, issuer: String, audience: String) {
        self.directory = directory
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.decoyHash = Bcrypt.hash(Secrets.random(), cost: directory.bcryptCost)
        self.verifier = TokenVerifier(issuer: issuer, audience: audience) { try await keys.jwks() }
    }

    public func issue(_ request: TokenRequest) async throws -> IssuedToken {
        guard !request.grantType.isEmpty else { throw OAuthError.invalidRequest("grant_type is required") }
        guard ["client_credentials", "password", "authorization_code", "refresh_token"].contains(request.grantType)
        else {
            throw OAuthError.unsupportedGrantType(
                "grant_type must be client_credentials, password, authorization_code or refresh_token")
        }
        let client = try await authenticate(
            clientID: request.clientID, secret: request.clientSecret,
            publicAllowed: ClientKind.publicGrants.contains(request.grantType))
        // A client of no kind (one stored before kinds were separated that mixes them) gets no token at all.
        guard client.kind != nil, client.grantTypes.contains(request.grantType) else {
            throw OAuthError.unauthorizedClient("this client may not use the \(request.grantType) grant")
        }
        switch request.grantType {
        case "client_credentials":
            let scope = try Self.scope(request.scope, default: "api")
            let token = try await sign(
                subject: client.publicID, tenantID: client.tenantID, roles: client.roles, scope: scope,
                ownerType: "service", audience: serviceAudiences[client.clientID] ?? [audience]
            )
            return IssuedToken(accessToken: token, expiresIn: Int(accessTokenLifetime), refreshToken: nil, scope: scope)
        case "password":
            guard client.firstParty else {
                throw OAuthError.unauthorizedClient("only first-party clients may use the password grant")
            }
            var context = EvaluationContext(
                user: nil, tenant: client.tenantID.isEmpty ? nil : client.tenantID, service: "identity")
            context.attributes["client_id"] = .string(client.clientID)
            guard flags.boolean(Self.passwordGrantFlag, default: true, context: context) else {
                throw OAuthError.unauthorizedClient("the password grant is turned off for this client")
            }
            guard !request.username.isEmpty, !request.password.isEmpty else {
                throw OAuthError.invalidRequest("username and password are required")
            }
            let scope = try Self.scope(request.scope, default: "openid api")
            let user = try await checkPassword(username: request.username, password: request.password, client: client)
            return try await issueForUser(
                user, client: client, scope: scope, family: EventID.generate(),
                authTime: Int64(Date().timeIntervalSince1970))
        case "authorization_code":
            return try await exchange(request, client: client)
        default:
            return try await refresh(request, client: client)
        }
    }

    /// A password login through `client`, defended by ``LoginPolicy``: an address or an account that failed too often
    /// waits (growing delays), and an account that reached the limit is locked for a while — each checked before any
    /// password is.
    ///
    /// An email is one user across tenants; a tenant's login client signs in only its own users. Every failure (no
    /// such user, another tenant's, a wrong password, a disabled user) checks a password, counts against the
    /// username and answers the same, so neither the answer nor its time tells which emails exist.
    func checkPassword(username: String, password: String, client: ClientRecord) async throws -> UserRecord {
        let address = RequestOrigin.clientIP ?? "unknown"
        let seconds = throttle.clock()
        if let wait = throttle.wait(address: address, now: seconds) { throw OAuthError.slowDown(retryAfter: wait) }
        let failures = LoginFailures(directory: directory, policy: throttle.policy)
        let now = Int64((seconds * 1_000).rounded(.down))
        let verdict = try await failures.verdict(username, now: now)
        switch verdict {
        case .wait(let seconds): throw OAuthError.slowDown(retryAfter: seconds)
        case .locked(let seconds): throw OAuthError.locked(retryAfter: seconds)
        case .allowed: break
        }
        let candidate = try await directory.users(email: username).first { user, _ in
            client.tenantID == Roles.platformTenant || user.tenantID == client.tenantID
        }
        let (user, hash) = candidate ?? (nil, decoyHash)
        guard try await directory.passwords.verify(password, hash: hash), let user, user.enabled else {
            throttle.failed(address: address, now: seconds)
            try await failures.failed(username, user: candidate?.0, now: now)
            if Int.random(in: 0..<100) == 0 { try await failures.prune(now: now) }
            throw OAuthError.invalidGrant("the username or password is wrong")
        }
        if verdict != .allowed(failures: 0) { try await failures.succeeded(username) }
        return user
    }

    /// The client `clientID`, authenticated by its secret; a public client (no secret) only where `publicAllowed`
    /// (its grants, and revocation), and then only by presenting no secret.
    func authenticate(clientID: String, secret: String, publicAllowed: Bool = false) async throws -> ClientRecord {
        guard !clientID.isEmpty else { throw OAuthError.invalidClient("client_id is required") }
        guard let client = try await directory.client(id: clientID), client.enabled else {
            throw OAuthError.invalidClient()
        }
        if client.publicClient {
            guard publicAllowed, secret.isEmpty else { throw OAuthError.invalidClient() }
        } else {
            guard client.accepts(secret: secret, now: Int64(Date().timeIntervalSince1970)) else {
                throw OAuthError.invalidClient()
            }
        }
        return client
    }

    /// RFC 7009. Refresh tokens are revoked with their whole rotation family; an unknown token is not an error (the
    /// client's goal, an unusable token, is met). Access tokens are short-lived JWTs and cannot be revoked.
    public func revoke(token: String, hint: String, clientID: String, secret: String) async throws {
        let client = try await authenticate(clientID: clientID, secret: secret, publicAllowed: true)
        if hint == "access_token" || token.split(separator: ".").count == 3 {
            throw OAuthError("unsupported_token_type", "access tokens expire within 15 minutes and cannot be revoked")
        }
        let now = EventTimestamp.now().rfc3339
        let hash = Secrets.hash(token)
        try await directory.store.transaction { database in
            try await database.raw(
                """
                UPDATE refresh_tokens SET revoked_at = \(bind: now) WHERE revoked_at IS NULL AND family_id IN
                (SELECT family_id FROM refresh_tokens WHERE token_hash = \(bind: hash)
                 AND client_id = \(bind: client.clientID))
                """
            ).run()
        }
    }

    /// RFC 7662: an inactive answer for anything that is not a live token of this issuer.
    public func introspect(token: String, clientID: String, secret: String) async throws
        -> Bizretail_Identity_V1_IntrospectTokenResponse
    {
        _ = try await authenticate(clientID: clientID, secret: secret)
        if token.split(separator: ".").count == 3 {
            guard let claims = try? await verifier.claims(of: token) else { return .init() }
            return .with {
                $0.active = true
                $0.tokenType = "access_token"
                $0.scope = claims.scope
                $0.sub = claims.subject.value
                $0.exp = Int64(claims.expiration.value.timeIntervalSince1970)
                $0.iat = Int64(claims.issuedAt.value.timeIntervalSince1970)
                $0.iss = claims.issuer.value
                $0.aud = claims.audience.value.joined(separator: " ")
                $0.jti = claims.id.value
                $0.tenantID = claims.tenantID
                $0.roles = claims.roles
                $0.ownerType = claims.ownerType
            }
        }
        let hash = Secrets.hash(token)
        let now = EventTimestamp.now().rfc3339
        let row = try await directory.store.read { database in
            try await database.raw(
                """
                SELECT user_public_id, client_id, scope, expires_at FROM refresh_tokens
                WHERE token_hash = \(bind: hash) AND used_at IS NULL AND revoked_at IS NULL
                AND expires_at > \(bind: now)
                """
            ).first()
        }
        guard let row else { return .init() }
        let expires = EventTimestamp(rfc3339: try row.decode(column: "expires_at", as: String.self))
        return .with {
            $0.active = true
            $0.tokenType = "refresh_token"
            $0.sub = (try? row.decode(column: "user_public_id", as: String.self)) ?? ""
            $0.clientID = (try? row.decode(column: "client_id", as: String.self)) ?? ""
            $0.scope = (try? row.decode(column: "scope", as: String.self)) ?? ""
            $0.exp = (expires?.millisecondsSinceEpoch ?? 0) / 1000
            $0.iss = issuer
        }
    }

    func issueForUser(
        _ user: UserRecord, client: ClientRecord, scope: String, family: String, authTime: Int64, nonce: String = ""
    ) async throws -> IssuedToken {
        let token = try await sign(
            subject: user.publicID, tenantID: user.tenantID, roles: user.roles, scope: scope, ownerType: "user"
        )
        let scopes = Set(scope.split(separator: " "))
        var idToken: String?
        if scopes.contains("openid") {
            let issued = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
            idToken = try await keys.sign(
                IDTokenClaims(
                    issuer: .init(value: issuer), subject: .init(value: user.publicID),
                    audience: .init(value: client.clientID), expiration: .init(value: issued + accessTokenLifetime),
                    issuedAt: .init(value: issued), authTime: authTime, nonce: nonce.isEmpty ? nil : nonce,
                    accessTokenHash: IDTokenClaims.hash(ofAccessToken: token), authorizedParty: client.clientID,
                    tenantID: user.tenantID, email: scopes.contains("email") ? user.email : nil,
                    name: scopes.contains("profile") ? user.name : nil))
        }
        let refresh = Secrets.random()
        let expires = EventTimestamp(
            millisecondsSinceEpoch: EventTimestamp.now().millisecondsSinceEpoch + Int64(refreshTokenLifetime * 1000)
        )
        try await directory.store.transaction { database in
            try await database.raw(
                """
                INSERT INTO refresh_tokens (token_hash, family_id, user_public_id, client_id, scope, expires_at,
                auth_time) VALUES (\(bind: Secrets.hash(refresh)), \(bind: family), \(bind: user.publicID),
                \(bind: client.clientID), \(bind: scope), \(bind: expires.rfc3339), \(bind: authTime))
                """
            ).run()
        }
        return IssuedToken(
            accessToken: token, expiresIn: Int(accessTokenLifetime), refreshToken: refresh, scope: scope,
            idToken: idToken)
    }

    private func refresh(_ request: TokenRequest, client: ClientRecord) async throws -> IssuedToken {
        guard !request.refreshToken.isEmpty else { throw OAuthError.invalidRequest("refresh_token is required") }
        let hash = Secrets.hash(request.refreshToken)
        let now = EventTimestamp.now().rfc3339
        enum Outcome: Sendable {
            case valid(user: String, scope: String, family: String, authTime: Int64?)
            case reused, invalid
        }
        let outcome = try await directory.store.transaction { database -> Outcome in
            guard
                let row = try await database.raw(
                    """
                    SELECT family_id, user_public_id, client_id, scope, expires_at, used_at, revoked_at, auth_time,
                    (SELECT COUNT(*) FROM refresh_tokens AS member WHERE member.family_id = token.family_id
                    AND member.revoked_at IS NOT NULL) AS revoked_members
                    FROM refresh_tokens AS token WHERE token_hash = \(bind: hash)
                    """
                ).first()
            else { return .invalid }
            let family = try row.decode(column: "family_id", as: String.self)
            // A revoked member revokes the session, including a token its last refresh minted after the revocation.
            guard try row.decode(column: "client_id", as: String.self) == client.clientID,
                try row.decode(column: "revoked_at", as: String?.self) == nil,
                try row.decode(column: "revoked_members", as: Int64.self) == 0,
                try row.decode(column: "expires_at", as: String.self) > now
            else { return .invalid }
            // Marking the token used is conditional, so of two concurrent refreshes (PostgreSQL reads committed
            // rows, so both may have seen it unused) exactly one wins; the other finds it used.
            var claimed = false
            if try row.decode(column: "used_at", as: String?.self) == nil {
                claimed =
                    try await database.raw(
                        """
                        UPDATE refresh_tokens SET used_at = \(bind: now)
                        WHERE token_hash = \(bind: hash) AND used_at IS NULL AND revoked_at IS NULL RETURNING token_hash
                        """
                    ).first() != nil
            }
            guard claimed else {
                // A used token presented again: it was stolen, or the client is confused. End the whole family.
                try await database.raw(
                    "UPDATE refresh_tokens SET revoked_at = \(bind: now) WHERE family_id = \(bind: family)"
                ).run()
                return .reused
            }
            return .valid(
                user: try row.decode(column: "user_public_id", as: String.self),
                scope: try row.decode(column: "scope", as: String.self), family: family,
                authTime: try row.decode(column: "auth_time", as: Int64?.self)
            )
        }
        switch outcome {
        case .invalid: throw OAuthError.invalidGrant("the refresh token is invalid, expired or revoked")
        case .reused: throw OAuthError.invalidGrant("the refresh token was already used; its session is revoked")
        case .valid(let userID, let scope, let family, let authTime):
            guard let user = try await directory.user(publicID: userID), user.enabled else {
                throw OAuthError.invalidGrant("the user no longer exists or is disabled")
            }
            return try await issueForUser(
                user, client: client, scope: scope, family: family,
                authTime: authTime ?? Int64(Date().timeIntervalSince1970))
        }
    }

    private func sign(
        subject: String, tenantID: String, roles: [String], scope: String, ownerType: String, audience: [String]? = nil
    ) async throws -> String {
        let claims = AccessTokenClaims(
            issuer: issuer, subject: subject, audience: audience ?? [self.audience], issuedAt: Date(),
            lifetime: accessTokenLifetime,
            id: EventID.generate(), tenantID: tenantID, roles: roles, scope: scope, ownerType: ownerType
        )
        return try await keys.sign(claims)
    }

    static func scope(_ requested: String, default fallback: String) throws -> String {
        let scopes = requested.split(separator: " ").map(String.init)
        guard !scopes.isEmpty else { return fallback }
        guard scopes.allSatisfy(knownScopes.contains) else {
            throw OAuthError.invalidScope("scope may contain \(knownScopes.sorted().joined(separator: ", "))")
        }
        return scopes.joined(separator: " ")
    }
}
