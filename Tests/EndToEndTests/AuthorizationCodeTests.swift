import BizAuth
import BizEvents
import BizTesting
import Crypto
import Foundation
import Testing

/// A browser for the tests: curl with a cookie jar, reading the login form's hidden fields like a browser submits
/// them.
struct TestBrowser {
    var https: HTTPSClient
    var language = "en"

    init(_ https: HTTPSClient, directory: String, language: String = "en") {
        self.https = https
        self.https.cookieJar = directory + "/cookies-\(UUID().uuidString)"
        self.language = language
    }

    func get(_ path: String, headers: [String: String] = [:]) async throws -> HTTPSClient.Response {
        try await https.request("GET", path, headers: headers.merging(["Accept-Language": language]) { $1 })
    }

    func post(_ path: String, _ fields: [(String, String)]) async throws -> HTTPSClient.Response {
        try await https.request(
            "POST", path,
            headers: ["Content-Type": "application/x-www-form-urlencoded", "Accept-Language": language],
            body: Data(AuthorizationFlow.query(fields).utf8))
    }

    /// The hidden and filled-in fields of the page's form, in order.
    static func formFields(_ html: String) -> [(String, String)] {
        let pattern = /<input type="hidden" name="([^"]*)" value="([^"]*)">/
        return html.matches(of: pattern).map { (unescape(String($0.1)), unescape(String($0.2))) }
    }

    static func unescape(_ text: String) -> String {
        var text = text
        for (entity, character) in [
            ("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\""), ("&#39;", "'"), ("&#x27;", "'"), ("&#x2F;", "/"),
            ("&#47;", "/"), ("&#x3D;", "="), ("&#x60;", "`"), ("&amp;", "&"),
        ] {
            text = text.replacingOccurrences(of: entity, with: character)
        }
        return text
    }

    /// The cookie's attributes as the gateway set them (`Set-Cookie` of the last response naming it).
    static func setCookie(_ response: HTTPSClient.Response, _ name: String) -> String? {
        response.headers["set-cookie"].flatMap { $0.hasPrefix(name + "=") ? $0 : nil }
    }
}

/// The parts of one authorization request.
struct AuthorizationFlow {
    var clientID: String
    var redirectURI: String
    var verifier = AuthorizationFlow.randomVerifier()
    var state = "state-" + UUID().uuidString
    var nonce = "nonce-" + UUID().uuidString
    var scope = "openid email profile api"

    var challenge: String { Self.challenge(verifier) }

    func parameters(_ changes: [String: String?] = [:]) -> [(String, String)] {
        var values: [(String, String)] = [
            ("response_type", "code"), ("client_id", clientID), ("redirect_uri", redirectURI), ("scope", scope),
            ("state", state), ("nonce", nonce), ("code_challenge", challenge), ("code_challenge_method", "S256"),
        ]
        for (name, value) in changes {
            values.removeAll { $0.0 == name }
            if let value { values.append((name, value)) }
        }
        return values
    }

    func path(_ changes: [String: String?] = [:]) -> String {
        "/oauth2/authorize?" + Self.query(parameters(changes))
    }

    func exchange(_ https: HTTPSClient, code: String, verifier: String? = nil, redirectURI: String? = nil)
        async throws -> HTTPSClient.Response
    {
        try await https.token([
            "grant_type": "authorization_code", "client_id": clientID, "code": code,
            "redirect_uri": redirectURI ?? self.redirectURI, "code_verifier": verifier ?? self.verifier,
        ])
    }

    static func query(_ fields: [(String, String)]) -> String {
        let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        return fields.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed)!)" }
            .joined(separator: "&")
    }

    static func randomVerifier() -> String {
        var generator = SystemRandomNumberGenerator()
        return base64URL(Data((0..<48).map { _ in UInt8.random(in: 0...255, using: &generator) }))
    }

    static func challenge(_ verifier: String) -> String { base64URL(Data(SHA256.hash(data: Data(verifier.utf8)))) }

    static func base64URL(_ data: Data) -> String { data.base64URLEncodedString }

    /// The query parameters of a redirect's `Location`.
    static func parameters(of location: String) -> [String: String] {
        let items = URLComponents(string: location)?.queryItems ?? []
        return Dictionary(items.map { ($0.name, $0.value ?? "") }) { first, _ in first }
    }

    /// A JWT's claims (not verified: the tests check them, the gateway verifies signatures).
    static func claims(_ jwt: String) -> JSONValue? { segment(1, of: jwt) }

    /// A JWT's header (0) or claims (1), decoded.
    static func segment(_ index: Int, of jwt: String) -> JSONValue? {
        let parts = jwt.split(separator: ".")
        guard parts.count == 3 else { return nil }
        var base64 = parts[index].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.utf8.count % 4) % 4)
        return Data(base64Encoded: base64).flatMap { try? JSONParser.parse(Array($0)) }
    }
}

extension GatewayEndToEndTests {
    /// A public browser client (no secret) of the platform tenant, redirecting to a loopback callback.
    func browserClient(_ https: HTTPSClient, _ token: String, redirectURI: String = "http://127.0.0.1:9/callback")
        async throws -> AuthorizationFlow
    {
        let created = try await https.json(
            "POST", "/v1/oauth-clients",
            [
                "name": "Loja <Web> & App", "grant_types": ["authorization_code", "refresh_token"],
                "redirect_uris": [.string(redirectURI), "https://app.example.com/callback"],
                "token_endpoint_auth_method": "none",
            ], bearer: token)
        #expect(created.status == 201, "\(created.text)")
        #expect(created.json?["client_secret"] == nil, "a public client has no secret")
        #expect(created.json?["token_endpoint_auth_method"]?.stringValue == "none")
        let publicID = try #require(created.json?["public_id"]?.stringValue)
        let rotate = try await https.request("POST", "/v1/oauth-clients/\(publicID)/rotate-secret", bearer: token)
        #expect(rotate.status == 422, "a public client has no secret to rotate: \(rotate.text)")
        return AuthorizationFlow(
            clientID: try #require(created.json?["client_id"]?.stringValue), redirectURI: redirectURI)
    }

    /// Signs in through the login form (or the browser's session) and returns the redirect's parameters.
    func signIn(_ browser: TestBrowser, _ flow: AuthorizationFlow, email: String, password: String) async throws
        -> [String: String]
    {
        let page = try await browser.get(flow.path())
        if page.status == 302 { return AuthorizationFlow.parameters(of: page.headers["location"] ?? "") }
        #expect(page.status == 200, "\(page.text)")
        let submitted = try await browser.post(
            "/oauth2/authorize", TestBrowser.formFields(page.text) + [("email", email), ("password", password)])
        #expect(submitted.status == 303, "\(submitted.text)")
        let location = try #require(submitted.headers["location"])
        #expect(location.hasPrefix(flow.redirectURI + "?"))
        return AuthorizationFlow.parameters(of: location)
    }

    @Test("authorization code with PKCE over HTTPS: login page, session cookie, code, ID token, SSO, logout")
    func authorizationCodeFlow() async throws {
        try await withEmbedded { system, https, admin in
            let flow = try await browserClient(https, admin)
            let browser = TestBrowser(https, directory: system.dataDirectory)
            let email = try #require(system.bootstrapCredential("admin_email"))
            let password = try #require(system.bootstrapCredential("admin_password"))
            let issuer = try #require(
                try await https.request("GET", "/.well-known/openid-configuration").json?["issuer"]?.stringValue)

            // The login page: in English for this browser, the client's name escaped, never cached or framed.
            let page = try await browser.get(flow.path())
            #expect(page.status == 200)
            #expect(page.headers["content-type"] == "text/html; charset=utf-8")
            #expect(page.headers["cache-control"] == "no-store")
            #expect(page.headers["x-frame-options"] == "DENY")
            #expect(page.headers["content-security-policy"]?.contains("frame-ancestors 'none'") == true)
            #expect(page.text.contains("<html lang=\"en\">") && page.text.contains("Sign in"))
            #expect(page.text.contains("Loja &lt;Web&gt; &amp; App") && !page.text.contains("<Web>"))
            #expect(!page.text.contains("<script"))
            let csrfCookie = try #require(TestBrowser.setCookie(page, "__Host-biz_csrf"))
            #expect(csrfCookie.contains("Secure") && csrfCookie.contains("HttpOnly"))
            #expect(csrfCookie.contains("SameSite=Strict") && csrfCookie.contains("Path=/"))
            let fields = TestBrowser.formFields(page.text)
            #expect(fields.contains { $0 == ("redirect_uri", flow.redirectURI) })
            #expect(fields.contains { $0 == ("state", flow.state) })

            // Portuguese for a browser that prefers it, and when nothing matches.
            for language in ["pt-BR,pt;q=0.9,en;q=0.5", "de-DE"] {
                let portuguese = try await TestBrowser(https, directory: system.dataDirectory, language: language)
                    .get(flow.path())
                #expect(portuguese.text.contains("<html lang=\"pt-BR\">") && portuguese.text.contains("Senha"))
            }

            // A wrong password: the form again, with one message for every failure, and no session.
            let wrong = try await browser.post(
                "/oauth2/authorize", fields + [("email", email), ("password", "not the password")])
            #expect(wrong.status == 400)
            #expect(wrong.text.contains("The email or password is wrong."))
            #expect(TestBrowser.setCookie(wrong, "__Host-biz_session") == nil)
            let unknown = try await browser.post(
                "/oauth2/authorize", fields + [("email", "nobody@example.com"), ("password", "not the password")])
            #expect(unknown.status == 400)
            #expect(unknown.text.contains("The email or password is wrong."))

            // The right one: a session cookie and a code at the redirect URI, with state and iss (RFC 9207).
            let signedIn = try await browser.post(
                "/oauth2/authorize", fields + [("email", email), ("password", password)])
            #expect(signedIn.status == 303, "\(signedIn.text)")
            let sessionCookie = try #require(TestBrowser.setCookie(signedIn, "__Host-biz_session"))
            #expect(sessionCookie.contains("Secure") && sessionCookie.contains("HttpOnly"))
            #expect(sessionCookie.contains("SameSite=Lax") && sessionCookie.contains("Path=/"))
            let answer = AuthorizationFlow.parameters(of: try #require(signedIn.headers["location"]))
            #expect(answer["state"] == flow.state)
            #expect(answer["iss"] == issuer)
            let code = try #require(answer["code"])

            // The code for tokens: the public client authenticates with its client_id and the PKCE verifier.
            let tokens = try await flow.exchange(https, code: code)
            #expect(tokens.status == 200, "\(tokens.text)")
            #expect(tokens.headers["cache-control"] == "no-store")
            let accessToken = try #require(tokens.json?["access_token"]?.stringValue)
            let idToken = try #require(tokens.json?["id_token"]?.stringValue)
            let claims = try #require(AuthorizationFlow.claims(idToken))
            #expect(claims["iss"]?.stringValue == issuer)
            #expect(claims["aud"]?.stringValue == flow.clientID || claims["aud"] == .array([.string(flow.clientID)]))
            #expect(claims["azp"]?.stringValue == flow.clientID)
            #expect(claims["nonce"]?.stringValue == flow.nonce)
            #expect(claims["email"]?.stringValue == email)
            let atHash = AuthorizationFlow.base64URL(Data(SHA256.hash(data: Data(accessToken.utf8)).prefix(16)))
            #expect(claims["at_hash"]?.stringValue == atHash)
            let authTime = try #require(claims["auth_time"]?.integerValue)
            #expect(abs(Int64(Date().timeIntervalSince1970) - authTime) < 60)
            #expect(
                try await https.request("GET", "/oauth2/userinfo", bearer: accessToken).json?["email"]?.stringValue
                    == email)
            #expect(try await https.request("GET", "/v1/teams", bearer: accessToken).status == 200)

            // Refresh: bound to the client (client_id alone for a public client); the ID token keeps auth_time.
            let refresh = try #require(tokens.json?["refresh_token"]?.stringValue)
            let refreshed = try await https.token([
                "grant_type": "refresh_token", "client_id": flow.clientID, "refresh_token": refresh,
            ])
            #expect(refreshed.status == 200, "\(refreshed.text)")
            let refreshedID = try #require(refreshed.json?["id_token"]?.stringValue)
            #expect(AuthorizationFlow.claims(refreshedID)?["auth_time"]?.integerValue == authTime)
            let secretless = try await https.token([
                "grant_type": "refresh_token", "client_id": flow.clientID, "client_secret": "guess",
                "refresh_token": try #require(refreshed.json?["refresh_token"]?.stringValue),
            ])
            #expect(secretless.status == 401, "a public client presenting a secret is refused")

            // Single sign-on: the session answers the next request at once, with a new code.
            var again = flow
            again.verifier = AuthorizationFlow.randomVerifier()
            let sso = try await browser.get(again.path())
            #expect(sso.status == 302)
            let ssoAnswer = AuthorizationFlow.parameters(of: try #require(sso.headers["location"]))
            #expect(ssoAnswer["state"] == again.state)
            let ssoTokens = try await again.exchange(https, code: try #require(ssoAnswer["code"]))
            #expect(ssoTokens.status == 200)
            #expect(
                AuthorizationFlow.claims(try #require(ssoTokens.json?["id_token"]?.stringValue))?["auth_time"]?
                    .integerValue == authTime)
            // prompt=login asks again despite the session.
            #expect(try await browser.get(again.path(["prompt": "login"])).status == 200)

            // RP-initiated logout: back to a registered URI with state; the cookie is cleared and the session ended
            // on the server (the old cookie no longer signs in).
            let oldSession = try #require(sessionCookie.split(separator: ";").first?.split(separator: "=").last)
            let logout = try await browser.get(
                "/oauth2/logout?"
                    + AuthorizationFlow.query([
                        ("id_token_hint", idToken), ("post_logout_redirect_uri", flow.redirectURI), ("state", "bye"),
                    ]))
            #expect(logout.status == 303, "\(logout.text)")
            #expect(logout.headers["location"] == flow.redirectURI + "?state=bye")
            #expect(TestBrowser.setCookie(logout, "__Host-biz_session")?.contains("Max-Age=0") == true)
            let afterLogout = try await https.request(
                "GET", again.path(["prompt": "none"]), headers: ["Cookie": "__Host-biz_session=\(oldSession)"])
            #expect(afterLogout.status == 302)
            #expect(
                AuthorizationFlow.parameters(of: afterLogout.headers["location"] ?? "")["error"] == "login_required")
            // A post-logout URI the client did not register is refused, and not followed.
            let foreign = try await browser.get(
                "/oauth2/logout?"
                    + AuthorizationFlow.query([
                        ("id_token_hint", idToken), ("post_logout_redirect_uri", "https://evil.example/"),
                    ]))
            #expect(foreign.status == 400)
            #expect(foreign.headers["location"] == nil)
            // Without an ID token the user confirms first, with a CSRF-protected form.
            let confirm = try await browser.get("/oauth2/logout")
            #expect(confirm.status == 200 && confirm.text.contains("Sign out?"))
            #expect(try await browser.post("/oauth2/logout", []).status == 403)
            let confirmed = try await browser.post("/oauth2/logout", TestBrowser.formFields(confirm.text))
            #expect(confirmed.status == 200 && confirmed.text.contains("You have signed out."))

            // Discovery names all of it.
            let discovery = try await https.request("GET", "/.well-known/openid-configuration").json
            #expect(discovery?["authorization_endpoint"]?.stringValue == issuer + "/oauth2/authorize")
            #expect(discovery?["end_session_endpoint"]?.stringValue == issuer + "/oauth2/logout")
            #expect(discovery?["code_challenge_methods_supported"] == ["S256"])
            #expect(discovery?["response_types_supported"] == ["code"])
        }
    }

    @Test(
        "what RFC 6749 and RFC 7636 refuse: a redirect URI off by one character, no state, no or plain PKCE, a wrong verifier, a reused code"
    )
    func authorizationCodeRefusals() async throws {
        try await withEmbedded { system, https, admin in
            let flow = try await browserClient(https, admin)
            let browser = TestBrowser(https, directory: system.dataDirectory)
            let email = try #require(system.bootstrapCredential("admin_email"))
            let password = try #require(system.bootstrapCredential("admin_password"))

            // Not redirected (the redirect URI cannot be trusted): a page.
            for changes: [String: String?] in [
                ["redirect_uri": flow.redirectURI + "x"], ["redirect_uri": "http://127.0.0.1:9/Callback"],
                ["redirect_uri": nil], ["client_id": "c-unknown"], ["client_id": nil],
            ] {
                let refused = try await browser.get(flow.path(changes))
                #expect(refused.status == 400, "\(changes)")
                #expect(refused.headers["location"] == nil, "\(changes)")
                #expect(refused.text.contains("invalid_"), "\(changes)")
            }
            let repeated = try await browser.get(flow.path() + "&state=second")
            #expect(repeated.status == 400 && repeated.headers["location"] == nil)

            // Redirected with the error (and the state, when there is one), never with a code.
            for (changes, error): ([String: String?], String) in [
                (["state": nil], "invalid_request"), (["code_challenge": nil], "invalid_request"),
                (["code_challenge_method": "plain"], "invalid_request"),
                (["code_challenge_method": nil], "invalid_request"),
                (["code_challenge": "short"], "invalid_request"),
                (["response_type": "token"], "unsupported_response_type"),
                (["scope": "openid admin"], "invalid_scope"), (["prompt": "none"], "login_required"),
            ] {
                let refused = try await browser.get(flow.path(changes))
                #expect(refused.status == 302, "\(changes): \(refused.text)")
                let answer = AuthorizationFlow.parameters(of: refused.headers["location"] ?? "")
                #expect(answer["error"] == error, "\(changes)")
                #expect(answer["code"] == nil)
                #expect(answer["state"] == (changes.keys.contains("state") ? nil : flow.state))
            }

            // The form refuses a post without the CSRF cookie's token.
            let page = try await browser.get(flow.path())
            let forged = TestBrowser.formFields(page.text).filter { $0.0 != "csrf_token" }
            let csrf = try await browser.post(
                "/oauth2/authorize",
                forged + [
                    ("csrf_token", AuthorizationFlow.randomVerifier().prefix(43) + ""),
                    ("email", email), ("password", password),
                ])
            #expect(csrf.status == 403)
            #expect(csrf.headers["location"] == nil)

            // A wrong verifier: invalid_grant, and the code is spent.
            let first = try #require(try await signIn(browser, flow, email: email, password: password)["code"])
            let wrongVerifier = try await flow.exchange(
                https, code: first, verifier: AuthorizationFlow.randomVerifier())
            #expect(wrongVerifier.status == 400)
            #expect(wrongVerifier.json?["error"]?.stringValue == "invalid_grant")
            #expect(try await flow.exchange(https, code: first).json?["error"]?.stringValue == "invalid_grant")
            let malformed = try await flow.exchange(https, code: first, verifier: "too-short")
            #expect(malformed.json?["error"]?.stringValue == "invalid_request")

            // The token request's redirect_uri must be the authorization request's, to the character.
            let second = try #require(try await signIn(browser, flow, email: email, password: password)["code"])
            let offByOne = try await flow.exchange(https, code: second, redirectURI: flow.redirectURI + "/")
            #expect(offByOne.json?["error"]?.stringValue == "invalid_grant")

            // A code works once; presented again, it revokes what its first exchange issued.
            let third = try #require(try await signIn(browser, flow, email: email, password: password)["code"])
            let exchanged = try await flow.exchange(https, code: third)
            #expect(exchanged.status == 200)
            let reused = try await flow.exchange(https, code: third)
            #expect(reused.status == 400)
            #expect(reused.json?["error"]?.stringValue == "invalid_grant")
            let revoked = try await https.token([
                "grant_type": "refresh_token", "client_id": flow.clientID,
                "refresh_token": try #require(exchanged.json?["refresh_token"]?.stringValue),
            ])
            #expect(revoked.json?["error"]?.stringValue == "invalid_grant")

            // Another client cannot redeem the code.
            let other = try await browserClient(https, admin)
            let fourth = try #require(try await signIn(browser, flow, email: email, password: password)["code"])
            var thief = flow
            thief.clientID = other.clientID
            #expect(try await thief.exchange(https, code: fourth).json?["error"]?.stringValue == "invalid_grant")

            // Registration refuses what cannot work.
            for body: JSONValue in [
                ["name": "No redirect", "grant_types": ["authorization_code"]],
                [
                    "name": "Public password", "grant_types": ["password"], "first_party": true,
                    "token_endpoint_auth_method": "none",
                ],
                [
                    "name": "Public service", "grant_types": ["client_credentials"], "roles": ["viewer"],
                    "token_endpoint_auth_method": "none",
                ],
            ] {
                let refused = try await https.json("POST", "/v1/oauth-clients", body, bearer: admin)
                #expect(refused.status == 422, "\(body): \(refused.text)")
            }
            let created = try await https.json(
                "POST", "/v1/oauth-clients", ["name": "Bad method", "token_endpoint_auth_method": "private_key_jwt"],
                bearer: admin)
            #expect(created.status == 400)
        }
    }
}
