import BizAuth
import BizEvents
import BizProtos
import Crypto
import Foundation
import SQLKit

/// An authorization request that passed every check (RFC 6749 §4.1.1, RFC 7636 §4.3, OpenID Connect Core §3.1.2.1).
struct AuthorizationRequest: Sendable {
    var client: ClientRecord
    var redirectURI: String
    var scope: String
    var state: String
    var nonce: String
    var codeChallenge: String
    var prompt: String
}

/// Where an authorization request leads: the client's redirect URI (with a code or an error), or the login form.
enum AuthorizationStep: Sendable {
    case redirect(String)
    case signIn(AuthorizationRequest)
}

/// The authorization-code flow with PKCE (S256 only): the authorization endpoint, the login form's submission, the
/// code's exchange at the token endpoint, and RP-initiated logout.
///
/// A request whose client or redirect URI cannot be trusted fails with an ``OAuthError`` (the gateway shows it as a
/// page, never redirecting: RFC 6749 §4.1.2.1); any other bad request is answered at the redirect URI, with `state`
/// and `iss` (RFC 9207).
extension TokenIssuer {
    /// Codes live a minute (RFC 6749 §4.1.2 recommends at most ten) and work once.
    static let codeLifetime: Int64 = 60
    static let longestParameter = 2_000
    static let prompts: Set<String> = ["", "none", "login"]

    /// The authorization endpoint: a code at once for a live session, else the login form.
    func authorize(_ parameters: Bizretail_Identity_V1_AuthorizationParameters, session: String) async throws
        -> AuthorizationStep
    {
        let request: AuthorizationRequest
        switch try await checked(parameters) {
        case .redirect(let refusal): return .redirect(refusal)
        case .signIn(let valid): request = valid
        }
        if request.prompt != "login", let (user, authTime) = try await sessionUser(session, for: request.client) {
            return .redirect(try await issueCode(request, user: user, authTime: authTime))
        }
        guard request.prompt != "none" else {
            return .redirect(
                Self.redirect(
                    request.redirectURI,
                    error: OAuthError("login_required", "the user is not signed in"), state: request.state,
                    issuer: issuer))
        }
        return .signIn(request)
    }

    /// The login form: checks the password like the password grant (same throttle, same answer for every failure),
    /// then starts a session and answers with a code. Returns the redirect and the new session's token.
    func signIn(_ parameters: Bizretail_Identity_V1_AuthorizationParameters, email: String, password: String)
        async throws -> (redirect: String, session: String?)
    {
        let request: AuthorizationRequest
        switch try await checked(parameters) {
        case .redirect(let refusal): return (refusal, nil)
        case .signIn(let valid): request = valid
        }
        guard !email.isEmpty, !password.isEmpty else {
            throw OAuthError.invalidRequest("the email and the password are required")
        }
        let user = try await checkPassword(username: email, password: password, client: request.client)
        let authTime = Int64(Date().timeIntervalSince1970)
        let session = Secrets.random()
        let expires = EventTimestamp(
            millisecondsSinceEpoch: EventTimestamp.now().millisecondsSinceEpoch + Int64(sessionLifetime * 1000))
        try await directory.store.transaction { database in
            try await database.raw(
                """
                INSERT INTO sessions (session_hash, user_public_id, auth_time, expires_at)
                VALUES (\(bind: Secrets.hash(session)), \(bind: user.publicID), \(bind: authTime),
                \(bind: expires.rfc3339))
                """
            ).run()
        }
        return (try await issueCode(request, user: user, authTime: authTime), session)
    }

    /// RP-Initiated Logout 1.0: ends the session, and names where the browser may go next (a redirect URI registered
    /// for the client the ID token was issued to, or that `client_id` names).
    func endSession(_ request: Bizretail_Identity_V1_EndSessionRequest) async throws -> String? {
        if !request.session.isEmpty {
            let now = EventTimestamp.now().rfc3339
            try await directory.store.transaction { database in
                try await database.raw(
                    """
                    UPDATE sessions SET ended_at = \(bind: now)
                    WHERE session_hash = \(bind: Secrets.hash(request.session)) AND ended_at IS NULL
                    """
                ).run()
            }
        }
        var clientID = request.clientID
        if !request.idTokenHint.isEmpty {
            guard let claims = try? await keys.verify(request.idTokenHint, as: IDTokenClaims.self),
                claims.issuer.value == issuer, let audience = claims.audience.value.first
            else { throw OAuthError.invalidRequest("id_token_hint is not an ID token of this issuer") }
            guard clientID.isEmpty || clientID == audience else {
                throw OAuthError.invalidRequest("client_id is not the ID token's audience")
            }
            clientID = audience
        }
        guard !request.postLogoutRedirectUri.isEmpty else { return nil }
        guard !clientID.isEmpty, let client = try await directory.client(id: clientID), client.enabled,
            client.redirectURIs.contains(request.postLogoutRedirectUri)
        else {
            throw OAuthError.invalidRequest("post_logout_redirect_uri is not a redirect URI registered for the client")
        }
        return Self.redirect(request.postLogoutRedirectUri, ["state": request.state])
    }

    /// The token endpoint's `authorization_code` grant: the code works once, for the client it was issued to, with
    /// the same redirect URI, and with the verifier of its challenge. A code presented twice revokes what its first
    /// exchange issued (RFC 6749 §4.1.2).
    func exchange(_ request: TokenRequest, client: ClientRecord) async throws -> IssuedToken {
        guard !request.code.isEmpty, !request.redirectURI.isEmpty, !request.codeVerifier.isEmpty else {
            throw OAuthError.invalidRequest("code, redirect_uri and code_verifier are required")
        }
        guard Self.isCodeVerifier(request.codeVerifier) else {
            throw OAuthError.invalidRequest("code_verifier must be 43 to 128 characters of A-Z, a-z, 0-9, -, ., _, ~")
        }
        let hash = Secrets.hash(request.code)
        let now = EventTimestamp.now().rfc3339
        let challenge = Self.challenge(of: request.codeVerifier)
        enum Outcome: Sendable {
            case valid(user: String, scope: String, nonce: String, authTime: Int64, family: String)
            case reused
            case invalid(String)
        }
        let outcome = try await directory.store.transaction { database -> Outcome in
            guard
                let row = try await database.raw(
                    """
                    SELECT client_id, user_public_id, redirect_uri, scope, nonce, code_challenge, auth_time, family_id,
                    expires_at FROM authorization_codes WHERE code_hash = \(bind: hash)
                    """
                ).first()
            else { return .invalid("the code is invalid") }
            let family = try row.decode(column: "family_id", as: String.self)
            // Claimed before anything else is checked: whatever the outcome, a code is spent by its first use.
            let claimed =
                try await database.raw(
                    """
                    UPDATE authorization_codes SET used_at = \(bind: now)
                    WHERE code_hash = \(bind: hash) AND used_at IS NULL RETURNING code_hash
                    """
                ).first() != nil
            guard claimed else {
                try await database.raw(
                    "UPDATE refresh_tokens SET revoked_at = \(bind: now) WHERE family_id = \(bind: family)"
                ).run()
                return .reused
            }
            guard try row.decode(column: "client_id", as: String.self) == client.clientID else {
                return .invalid("the code was issued to another client")
            }
            guard try row.decode(column: "expires_at", as: String.self) > now else {
                return .invalid("the code has expired")
            }
            guard try row.decode(column: "redirect_uri", as: String.self) == request.redirectURI else {
                return .invalid("redirect_uri is not the one the code was issued for")
            }
            guard Secrets.constantTimeEqual(try row.decode(column: "code_challenge", as: String.self), challenge)
            else { return .invalid("the code_verifier does not match the code_challenge") }
            return .valid(
                user: try row.decode(column: "user_public_id", as: String.self),
                scope: try row.decode(column: "scope", as: String.self),
                nonce: try row.decode(column: "nonce", as: String.self),
                authTime: try row.decode(column: "auth_time", as: Int64.self), family: family)
        }
        switch outcome {
        case .invalid(let reason): throw OAuthError.invalidGrant(reason)
        case .reused:
            throw OAuthError.invalidGrant("the code was already used; the tokens issued for it are revoked")
        case .valid(let userID, let scope, let nonce, let authTime, let family):
            guard let user = try await directory.user(publicID: userID), user.enabled else {
                throw OAuthError.invalidGrant("the user no longer exists or is disabled")
            }
            return try await issueForUser(
                user, client: client, scope: scope, family: family, authTime: authTime, nonce: nonce)
        }
    }

    // MARK: - Checks

    /// The request, or the redirect that refuses it. Throws when the refusal cannot be redirected.
    private func checked(_ parameters: Bizretail_Identity_V1_AuthorizationParameters) async throws
        -> AuthorizationStep
    {
        guard !parameters.clientID.isEmpty else { throw OAuthError.invalidRequest("client_id is required") }
        guard let client = try await directory.client(id: parameters.clientID), client.enabled else {
            throw OAuthError.invalidClient("no enabled client has this client_id")
        }
        guard !parameters.redirectUri.isEmpty else { throw OAuthError.invalidRequest("redirect_uri is required") }
        // Exact match, character for character (RFC 9700 §4.1.3): no prefixes, no normalisation.
        guard client.redirectURIs.contains(parameters.redirectUri) else {
            throw OAuthError.invalidRequest("redirect_uri is not registered for this client")
        }
        let redirectURI = parameters.redirectUri
        let state = parameters.state
        func refuse(_ error: OAuthError) -> AuthorizationStep {
            .redirect(Self.redirect(redirectURI, error: error, state: state, issuer: issuer))
        }
        guard client.grantTypes.contains("authorization_code") else {
            return refuse(.unauthorizedClient("this client may not use the authorization_code grant"))
        }
        guard !parameters.responseType.isEmpty else { return refuse(.invalidRequest("response_type is required")) }
        guard parameters.responseType == "code" else {
            return refuse(.init("unsupported_response_type", "response_type must be code"))
        }
        for (name, value) in [("state", state), ("nonce", parameters.nonce)]
        where value.unicodeScalars.count > Self.longestParameter {
            return refuse(.invalidRequest("\(name) is over \(Self.longestParameter) characters"))
        }
        guard !state.isEmpty else {
            return refuse(.invalidRequest("state is required (it protects the client against CSRF)"))
        }
        guard !parameters.codeChallenge.isEmpty else {
            return refuse(.invalidRequest("code_challenge is required (PKCE with S256)"))
        }
        guard parameters.codeChallengeMethod == "S256" else {
            return refuse(.invalidRequest("code_challenge_method must be S256"))
        }
        guard Self.isChallenge(parameters.codeChallenge) else {
            return refuse(.invalidRequest("code_challenge must be a base64url SHA-256 (43 characters)"))
        }
        guard Self.prompts.contains(parameters.prompt) else {
            return refuse(.invalidRequest("prompt must be none or login"))
        }
        let scope: String
        do {
            scope = try Self.scope(parameters.scope, default: "openid api")
        } catch let error as OAuthError {
            return refuse(error)
        }
        return .signIn(
            AuthorizationRequest(
                client: client, redirectURI: redirectURI, scope: scope, state: state, nonce: parameters.nonce,
                codeChallenge: parameters.codeChallenge, prompt: parameters.prompt))
    }

    /// The user of a live session who may sign in through `client` (a tenant's client signs in its own users only).
    private func sessionUser(_ session: String, for client: ClientRecord) async throws -> (UserRecord, Int64)? {
        guard !session.isEmpty else { return nil }
        let now = EventTimestamp.now().rfc3339
        let row = try await directory.store.read { database in
            try await database.raw(
                """
                SELECT user_public_id, auth_time FROM sessions WHERE session_hash = \(bind: Secrets.hash(session))
                AND ended_at IS NULL AND expires_at > \(bind: now)
                """
            ).first()
        }
        guard let row,
            let user = try await directory.user(publicID: try row.decode(column: "user_public_id", as: String.self)),
            user.enabled, client.tenantID == Roles.platformTenant || user.tenantID == client.tenantID
        else { return nil }
        return (user, try row.decode(column: "auth_time", as: Int64.self))
    }

    private func issueCode(_ request: AuthorizationRequest, user: UserRecord, authTime: Int64) async throws -> String {
        let code = Secrets.random()
        let expires = EventTimestamp(
            millisecondsSinceEpoch: EventTimestamp.now().millisecondsSinceEpoch + Self.codeLifetime * 1000)
        try await directory.store.transaction { database in
            try await database.raw(
                """
                INSERT INTO authorization_codes (code_hash, client_id, user_public_id, redirect_uri, scope, nonce,
                code_challenge, auth_time, family_id, expires_at) VALUES (\(bind: Secrets.hash(code)),
                \(bind: request.client.clientID), \(bind: user.publicID), \(bind: request.redirectURI),
                \(bind: request.scope), \(bind: request.nonce), \(bind: request.codeChallenge), \(bind: authTime),
                \(bind: EventID.generate()), \(bind: expires.rfc3339))
                """
            ).run()
        }
        return Self.redirect(request.redirectURI, ["code": code, "state": request.state, "iss": issuer])
    }

    // MARK: - Encoding

    /// `uri` with `parameters` added to its query (empty values left out), percent-encoded strictly.
    static func redirect(_ uri: String, _ parameters: KeyValuePairs<String, String>) -> String {
        let query = parameters.filter { !$0.value.isEmpty }.map { "\($0.key)=\(percentEncoded($0.value))" }
        guard !query.isEmpty else { return uri }
        return uri + (uri.contains("?") ? "&" : "?") + query.joined(separator: "&")
    }

    static func redirect(_ uri: String, error: OAuthError, state: String, issuer: String) -> String {
        redirect(
            uri, ["error": error.code, "error_description": error.reason, "state": state, "iss": issuer])
    }

    static let unreserved = CharacterSet(
        charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    static func percentEncoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? ""
    }

    /// RFC 7636 §4.2: BASE64URL(SHA256(ASCII(code_verifier))).
    static func challenge(of verifier: String) -> String {
        Data(SHA256.hash(data: Data(verifier.utf8))).base64URLEncodedString
    }

    static func isCodeVerifier(_ text: String) -> Bool {
        (43...128).contains(text.utf8.count) && text.unicodeScalars.allSatisfy(unreserved.contains)
    }

    static func isChallenge(_ text: String) -> Bool {
        text.utf8.count == 43
            && text.unicodeScalars.allSatisfy { unreserved.contains($0) && $0 != "." && $0 != "~" }
    }
}
