import BizProtos
import Foundation
import GRPCCore
import HTTPTypes
import Hummingbird

/// The browser side of OAuth2 and OpenID Connect: `/oauth2/authorize` (the authorization endpoint and its login
/// form) and `/oauth2/logout` (RP-Initiated Logout). The Identity Provider decides; these routes render its answers
/// as pages, redirects and cookies.
///
/// - The session cookie (`__Host-biz_session`: `Secure`, `HttpOnly`, `SameSite=Lax`) holds a random token whose hash
///   the Identity Provider keeps.
/// - The forms carry a CSRF token that must equal the `__Host-biz_csrf` cookie (`SameSite=Strict`): another site can
///   neither read the token nor set a `__Host-` cookie, so it cannot post a form that passes.
/// - Pages are never cached and never framed.
struct AuthorizationRoutes<Transport: ClientTransport> {
    var clients: ServiceClients<Transport>
    let pages = LoginPages()

    static var sessionCookie: String { "__Host-biz_session" }
    static var csrfCookie: String { "__Host-biz_csrf" }
    /// The authorization request's parameters (RFC 6749 §4.1.1, RFC 7636 §4.3, OpenID Connect Core §3.1.2.1).
    static var authorizationParameters: [String] {
        [
            "response_type", "client_id", "redirect_uri", "scope", "state", "nonce", "code_challenge",
            "code_challenge_method", "prompt", "ui_locales",
        ]
    }
    static var logoutParameters: [String] {
        ["id_token_hint", "post_logout_redirect_uri", "state", "client_id", "ui_locales"]
    }

    func register(on router: Router<GatewayContext>) {
        router.get("/oauth2/authorize") { request, context in
            guard let query = Self.singleValued(request.uri.query ?? "", Self.authorizationParameters) else {
                return repeatedParameter(request)
            }
            return try await authorize(request, context: context, query: query)
        }
        router.post("/oauth2/authorize") { request, context in
            let form = try await Self.form(request)
            let language = Self.language(request, form)
            guard Self.csrfMatches(request, form) else {
                return expiredForm(language)
            }
            return try await signIn(request, context: context, form: form, language: language)
        }
        router.get("/oauth2/logout") { request, context in
            guard let query = Self.singleValued(request.uri.query ?? "", Self.logoutParameters) else {
                return repeatedParameter(request)
            }
            let language = Self.language(request, query)
            // Without an ID token naming the client, the user confirms first (a link on another site must not end
            // a session by itself).
            guard query["id_token_hint", default: ""].isEmpty else {
                return try await endSession(request, context: context, parameters: query, language: language)
            }
            let (csrf, cookie) = Self.csrfToken(request)
            return page(
                pages.confirmLogout(language, fields: Self.fields(query, Self.logoutParameters), csrf: csrf),
                cookies: cookie.map { [$0] } ?? [])
        }
        router.post("/oauth2/logout") { request, context in
            let form = try await Self.form(request)
            let language = Self.language(request, form)
            guard !form["id_token_hint", default: ""].isEmpty || Self.csrfMatches(request, form) else {
                return expiredForm(language)
            }
            return try await endSession(request, context: context, parameters: form, language: language)
        }
    }

    // MARK: - Steps

    func authorize(_ request: Request, context: GatewayContext, query: [String: String]) async throws -> Response {
        let language = Self.language(request, query)
        let answer: Bizretail_Identity_V1_AuthorizeResponse
        do {
            answer = try await clients.identity.authorize(
                .with {
                    $0.parameters = Self.parameters(query)
                    $0.session = request.cookies[Self.sessionCookie]?.value ?? ""
                }, metadata: try await clients.metadata(for: context))
        } catch let error as RPCError {
            return try errorPage(error, language: language)
        }
        guard answer.redirectTo.isEmpty else { return Self.redirect(answer.redirectTo, status: .found) }
        let (csrf, cookie) = Self.csrfToken(request)
        return page(
            pages.login(
                language, client: answer.clientName, fields: Self.fields(query, Self.authorizationParameters),
                csrf: csrf, email: "", message: nil),
            cookies: cookie.map { [$0] } ?? [])
    }

    func signIn(_ request: Request, context: GatewayContext, form: [String: String], language: LoginPages.Language)
        async throws -> Response
    {
        let metadata = try await clients.metadata(for: context)
        let email = form["email", default: ""]
        do {
            let answer = try await clients.identity.signIn(
                .with {
                    $0.parameters = Self.parameters(form)
                    $0.email = email
                    $0.password = form["password", default: ""]
                }, metadata: metadata)
            var response = Self.redirect(answer.redirectTo, status: .seeOther)
            if !answer.session.isEmpty {
                response.setCookie(
                    Cookie(
                        name: Self.sessionCookie, value: answer.session, maxAge: Int(answer.sessionMaxAge), path: "/",
                        secure: true, httpOnly: true, sameSite: .lax))
            }
            return response
        } catch let error as RPCError {
            let code = error.metadata[stringValues: "oauth-error"].first(where: { _ in true })
            let (message, status): (String, HTTPResponse.Status) =
                switch code {
                case "invalid_grant": ("wrong_credentials", .badRequest)
                case "slow_down" where error.metadata[stringValues: "login-lockout"].contains(where: { _ in true }):
                    ("locked", .tooManyRequests)
                case "slow_down": ("throttled", .tooManyRequests)
                case "invalid_request" where email.isEmpty || form["password", default: ""].isEmpty:
                    ("missing_credentials", .badRequest)
                default: ("", .badRequest)
                }
            guard !message.isEmpty else { return try errorPage(error, language: language) }
            // The form again, with the client's name (asked anew: a hidden field could be forged).
            let client = try await clients.identity.authorize(
                .with { $0.parameters = Self.parameters(form) }, metadata: metadata
            ).clientName
            let (csrf, cookie) = Self.csrfToken(request)
            var response = page(
                pages.login(
                    language, client: client, fields: Self.fields(form, Self.authorizationParameters), csrf: csrf,
                    email: email, message: LoginPages.message(message, language)),
                status: status, cookies: cookie.map { [$0] } ?? [])
            if let retryAfter = error.metadata[stringValues: "retry-after"].first(where: { _ in true }) {
                response.headers[.retryAfter] = retryAfter
            }
            return response
        }
    }

    func endSession(
        _ request: Request, context: GatewayContext, parameters: [String: String], language: LoginPages.Language
    ) async throws -> Response {
        let cleared = Cookie(
            name: Self.sessionCookie, value: "", maxAge: 0, path: "/", secure: true, httpOnly: true, sameSite: .lax)
        var response: Response
        do {
            let answer = try await clients.identity.endSession(
                .with {
                    $0.session = request.cookies[Self.sessionCookie]?.value ?? ""
                    $0.idTokenHint = parameters["id_token_hint", default: ""]
                    $0.postLogoutRedirectUri = parameters["post_logout_redirect_uri", default: ""]
                    $0.state = parameters["state", default: ""]
                    $0.clientID = parameters["client_id", default: ""]
                }, metadata: try await clients.metadata(for: context))
            response =
                answer.redirectTo.isEmpty
                ? page(pages.signedOut(language)) : Self.redirect(answer.redirectTo, status: .seeOther)
        } catch let error as RPCError {
            response = try errorPage(error, language: language)
        }
        response.setCookie(cleared)
        return response
    }

    // MARK: - Pages

    /// A form posted without the CSRF cookie's token (expired, or another site's).
    func expiredForm(_ language: LoginPages.Language) -> Response {
        page(
            pages.error(language, code: "invalid_request", description: LoginPages.message("expired_form", language)),
            status: .forbidden)
    }

    /// RFC 6749 §3.1: a parameter sent twice is refused, on a page (which value to trust is unknown, so the redirect
    /// URI is not either).
    func repeatedParameter(_ request: Request) -> Response {
        page(
            pages.error(Self.language(request, [:]), code: "invalid_request", description: "a parameter is repeated"),
            status: .badRequest)
    }

    /// The Identity Provider's refusal as a page (400), for requests that must not be redirected.
    func errorPage(_ error: RPCError, language: LoginPages.Language) throws -> Response {
        guard let code = error.metadata[stringValues: "oauth-error"].first(where: { _ in true }) else {
            throw Problem.from(error)
        }
        return page(pages.error(language, code: code, description: error.message), status: .badRequest)
    }

    func page(_ html: String, status: HTTPResponse.Status = .ok, cookies: [Cookie] = []) -> Response {
        var response = Response(status: status, headers: Self.pageHeaders, body: .init(byteBuffer: .init(string: html)))
        for cookie in cookies { response.setCookie(cookie) }
        return response
    }

    static var pageHeaders: HTTPFields {
        [
            .contentType: "text/html; charset=utf-8", .cacheControl: "no-store", .pragma: "no-cache",
            .contentSecurityPolicy:
                "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
            HTTPField.Name("X-Frame-Options")!: "DENY", HTTPField.Name("Referrer-Policy")!: "no-referrer",
            HTTPField.Name("X-Content-Type-Options")!: "nosniff",
        ]
    }

    static func redirect(_ location: String, status: HTTPResponse.Status) -> Response {
        Response(status: status, headers: [.location: location, .cacheControl: "no-store", .pragma: "no-cache"])
    }

    // MARK: - Requests

    static func parameters(_ values: [String: String]) -> Bizretail_Identity_V1_AuthorizationParameters {
        .with {
            $0.responseType = values["response_type", default: ""]
            $0.clientID = values["client_id", default: ""]
            $0.redirectUri = values["redirect_uri", default: ""]
            $0.scope = values["scope", default: ""]
            $0.state = values["state", default: ""]
            $0.nonce = values["nonce", default: ""]
            $0.codeChallenge = values["code_challenge", default: ""]
            $0.codeChallengeMethod = values["code_challenge_method", default: ""]
            $0.prompt = values["prompt", default: ""]
        }
    }

    /// The named parameters that are present, as the form's hidden fields, in a fixed order.
    static func fields(_ values: [String: String], _ names: [String]) -> [LoginPages.Field] {
        names.compactMap { name in values[name].map { LoginPages.Field(name: name, value: $0) } }
    }

    /// The query's parameters, or nil when one of `names` appears twice (RFC 6749 §3.1: a parameter must not be sent
    /// more than once).
    static func singleValued(_ query: String, _ names: [String]) -> [String: String]? {
        var values: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = OAuthRoutes<Transport>.formDecode(String(parts[0]))
            let value = parts.count > 1 ? OAuthRoutes<Transport>.formDecode(String(parts[1])) : ""
            if values[key] != nil, names.contains(key) { return nil }
            if values[key] == nil { values[key] = value }
        }
        return values
    }

    /// A posted form (`application/x-www-form-urlencoded`, at most 64 KiB).
    static func form(_ request: Request) async throws -> [String: String] {
        guard request.headers[.contentType]?.lowercased().hasPrefix("application/x-www-form-urlencoded") == true else {
            throw Problem(.unsupportedMediaType, "the body must be application/x-www-form-urlencoded")
        }
        let buffer = try await request.body.collect(upTo: 64 * 1024)
        return OAuthRoutes<Transport>.parseForm(String(buffer: buffer))
    }

    static func language(_ request: Request, _ values: [String: String]) -> LoginPages.Language {
        LoginPages.language(uiLocales: values["ui_locales"], acceptLanguage: request.headers[.acceptLanguage])
    }

    /// The CSRF token for a form: the browser's (when it holds a well-formed one), or a new one with its cookie.
    static func csrfToken(_ request: Request) -> (String, Cookie?) {
        if let existing = request.cookies[csrfCookie]?.value, isToken(existing) { return (existing, nil) }
        let token = randomToken()
        return (
            token,
            Cookie(name: csrfCookie, value: token, path: "/", secure: true, httpOnly: true, sameSite: .strict)
        )
    }

    static func csrfMatches(_ request: Request, _ form: [String: String]) -> Bool {
        guard let cookie = request.cookies[csrfCookie]?.value, isToken(cookie), let posted = form["csrf_token"] else {
            return false
        }
        let left = Array(cookie.utf8)
        let right = Array(posted.utf8)
        guard left.count == right.count else { return false }
        return zip(left, right).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    static func isToken(_ text: String) -> Bool {
        text.utf8.count == 43
            && text.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == 0x2D || byte == 0x5F
            }
    }

    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }).base64URLEncodedString
    }
}
