import BizEvents
import BizProtos
import Foundation
import GRPCCore
import HTTPTypes
import Hummingbird

/// OAuth2/OIDC endpoints: discovery, keys, token (RFC 6749, form-encoded), userinfo; and the health checks.
struct OAuthRoutes<Transport: ClientTransport> {
    var clients: ServiceClients<Transport>
    var issuer: String

    func register(on router: Router<GatewayContext>, userinfoMiddleware: BearerAuthMiddleware) {
        router.get("/health/live") { _, _ in jsonResponse(["status": "ok"]) }
        router.get("/health/ready") { _, _ in
            let unreachable = await clients.unreachableServices()
            guard unreachable.isEmpty else {
                throw Problem(
                    .serviceUnavailable, "not reachable: " + unreachable.joined(separator: ", "))
            }
            return jsonResponse(["status": "ok"])
        }
        router.get("/.well-known/openid-configuration") { _, _ in
            let document: JSONValue = [
                "issuer": .string(issuer), "authorization_endpoint": .string(issuer + "/oauth2/authorize"),
                "token_endpoint": .string(issuer + "/oauth2/token"),
                "jwks_uri": .string(issuer + "/oauth2/jwks"), "revocation_endpoint": .string(issuer + "/oauth2/revoke"),
                "introspection_endpoint": .string(issuer + "/oauth2/introspect"),
                "userinfo_endpoint": .string(issuer + "/oauth2/userinfo"),
                "end_session_endpoint": .string(issuer + "/oauth2/logout"),
                "grant_types_supported": ["authorization_code", "client_credentials", "password", "refresh_token"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
                "id_token_signing_alg_values_supported": ["ES256"], "response_types_supported": ["code"],
                "response_modes_supported": ["query"], "code_challenge_methods_supported": ["S256"],
                "authorization_response_iss_parameter_supported": true, "prompt_values_supported": ["none", "login"],
                "ui_locales_supported": ["pt-BR", "en"], "claims_parameter_supported": false,
                "claims_supported": [
                    "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "azp", "tenant_id", "email",
                    "name",
                ],
                "subject_types_supported": ["public"], "scopes_supported": ["openid", "profile", "email", "api"],
            ]
            return jsonResponse(document)
        }
        router.get("/oauth2/jwks") { _, _ in
            let keys = try await clients.identity.getSigningKeys(.init())
            var response = Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: keys.jwksJson)))
            response.headers[.contentType] = "application/jwk-set+json"
            response.headers[.cacheControl] = "public, max-age=300"
            return response
        }
        router.post("/oauth2/token") { request, context in try await token(request, context: context) }
        router.post("/oauth2/revoke") { request, _ in
            try await withClientForm(request) { parsed in
                _ = try await clients.identity.revokeToken(
                    .with {
                        $0.clientID = parsed.clientID
                        $0.clientSecret = parsed.clientSecret
                        $0.token = parsed.form["token"] ?? ""
                        $0.tokenTypeHint = parsed.form["token_type_hint"] ?? ""
                    }
                )
                return Response(status: .ok, headers: [.cacheControl: "no-store"])
            }
        }
        router.post("/oauth2/introspect") { request, _ in
            try await withClientForm(request) { parsed in
                let answer = try await clients.identity.introspectToken(
                    .with {
                        $0.clientID = parsed.clientID
                        $0.clientSecret = parsed.clientSecret
                        $0.token = parsed.form["token"] ?? ""
                        $0.tokenTypeHint = parsed.form["token_type_hint"] ?? ""
                    }
                )
                guard answer.active else {
                    return jsonResponse(["active": false], headers: [.cacheControl: "no-store"])
                }
                var body: [String: JSONValue] = [
                    "active": true, "token_type": .string(answer.tokenType), "scope": .string(answer.scope),
                    "sub": .string(answer.sub), "exp": .integer(answer.exp), "iss": .string(answer.iss),
                ]
                if !answer.clientID.isEmpty { body["client_id"] = .string(answer.clientID) }
                if answer.tokenType == "access_token" {
                    body["iat"] = .integer(answer.iat)
                    body["aud"] = .string(answer.aud)
                    body["jti"] = .string(answer.jti)
                    body["tenant_id"] = .string(answer.tenantID)
                    body["roles"] = .array(answer.roles.map(JSONValue.string))
                    body["owner_type"] = .string(answer.ownerType)
                }
                return jsonResponse(.object(body), headers: [.cacheControl: "no-store"])
            }
        }
        router.group("/oauth2/userinfo").add(middleware: userinfoMiddleware).get { _, context in
            let user = try await clients.call(context) { metadata in
                try await clients.identity.getUserInfo(.init(), metadata: metadata)
            }
            let info: JSONValue = [
                "sub": .string(user.publicID), "email": .string(user.email), "name": .string(user.name),
                "tenant_id": .string(user.tenantID), "roles": .array(user.roles.map(JSONValue.string)),
            ]
            return jsonResponse(info)
        }
    }

    /// RFC 6749 §4.4, §4.3, §6: form-encoded request; client authentication by HTTP Basic or in the body.
    /// A form-encoded OAuth2 request with its client credentials (HTTP Basic, or `client_id`/`client_secret` in the
    /// body), or the RFC 6749 error response to send instead.
    struct ClientForm {
        var form: [String: String]
        var clientID: String
        var clientSecret: String
        var usedBasic: Bool
    }

    func clientForm(_ request: Request) async throws -> Result<ClientForm, OAuthFailure> {
        guard request.headers[.contentType]?.lowercased().hasPrefix("application/x-www-form-urlencoded") == true else {
            return .failure(
                OAuthFailure(.badRequest, "invalid_request", "the body must be application/x-www-form-urlencoded"))
        }
        let buffer = try await request.body.collect(upTo: 64 * 1024)
        let form = Self.parseForm(String(buffer: buffer))
        var parsed = ClientForm(
            form: form, clientID: form["client_id"] ?? "", clientSecret: form["client_secret"] ?? "", usedBasic: false
        )
        if let authorization = request.headers[.authorization], authorization.lowercased().hasPrefix("basic ") {
            guard
                let decoded = Data(base64Encoded: String(authorization.dropFirst(6)))
                    .flatMap({ String(data: $0, encoding: .utf8) }), let colon = decoded.firstIndex(of: ":")
            else {
                return .failure(
                    OAuthFailure(.unauthorized, "invalid_client", "the Basic credentials are malformed", basic: true))
            }
            parsed.clientID = Self.formDecode(String(decoded[..<colon]))
            parsed.clientSecret = Self.formDecode(String(decoded[decoded.index(after: colon)...]))
            parsed.usedBasic = true
        }
        return .success(parsed)
    }

    struct OAuthFailure: Error {
        var status: HTTPResponse.Status
        var code: String
        var description: String
        var basic = false

        init(_ status: HTTPResponse.Status, _ code: String, _ description: String, basic: Bool = false) {
            self.status = status
            self.code = code
            self.description = description
            self.basic = basic
        }
    }

    /// Parses an OAuth2 form request and runs `body` with it, answering malformed requests and the Identity
    /// Provider's OAuth2 errors in RFC 6749 form.
    func withClientForm(_ request: Request, _ body: (ClientForm) async throws -> Response) async throws -> Response {
        let parsed: ClientForm
        switch try await clientForm(request) {
        case .success(let value): parsed = value
        case .failure(let failure):
            return oauthError(failure.status, failure.code, failure.description, basic: failure.basic)
        }
        do {
            return try await body(parsed)
        } catch let error as RPCError {
            guard let code = error.metadata[stringValues: "oauth-error"].first(where: { _ in true }) else {
                throw Problem.from(error)
            }
            let status: HTTPResponse.Status =
                switch code {
                case "invalid_client": .unauthorized
                case "slow_down": .tooManyRequests
                case "temporarily_unavailable": .serviceUnavailable
                default: .badRequest
                }
            var response = oauthError(status, code, error.message, basic: parsed.usedBasic)
            if let retryAfter = error.metadata[stringValues: "retry-after"].first(where: { _ in true }) {
                response.headers[.retryAfter] = retryAfter
            }
            return response
        }
    }

    func token(_ request: Request, context: GatewayContext) async throws -> Response {
        try await withClientForm(request) { parsed in
            // With the gateway's attestation of the client IP: password logins are throttled per address.
            let metadata = try await clients.metadata(for: context)
            let token = try await clients.identity.issueToken(
                .with {
                    $0.grantType = parsed.form["grant_type"] ?? ""
                    $0.clientID = parsed.clientID
                    $0.clientSecret = parsed.clientSecret
                    $0.username = parsed.form["username"] ?? ""
                    $0.password = parsed.form["password"] ?? ""
                    $0.refreshToken = parsed.form["refresh_token"] ?? ""
                    $0.scope = parsed.form["scope"] ?? ""
                    $0.code = parsed.form["code"] ?? ""
                    $0.redirectUri = parsed.form["redirect_uri"] ?? ""
                    $0.codeVerifier = parsed.form["code_verifier"] ?? ""
                }, metadata: metadata
            )
            var body: [String: JSONValue] = [
                "access_token": .string(token.accessToken), "token_type": .string(token.tokenType),
                "expires_in": .integer(token.expiresIn), "scope": .string(token.scope),
            ]
            if !token.refreshToken.isEmpty { body["refresh_token"] = .string(token.refreshToken) }
            if !token.idToken.isEmpty { body["id_token"] = .string(token.idToken) }
            return jsonResponse(.object(body), headers: [.cacheControl: "no-store", .pragma: "no-cache"])
        }
    }

    func oauthError(_ status: HTTPResponse.Status, _ code: String, _ description: String, basic: Bool = false)
        -> Response
    {
        var headers: HTTPFields = [.cacheControl: "no-store", .pragma: "no-cache"]
        if status == .unauthorized {
            headers[.wwwAuthenticate] = basic ? #"Basic realm="biz-retail""# : #"Bearer realm="biz-retail""#
        }
        let body: JSONValue = ["error": .string(code), "error_description": .string(description)]
        return jsonResponse(body, status: status, headers: headers)
    }

    static func parseForm(_ text: String) -> [String: String] {
        var form: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = formDecode(String(parts[0]))
            // RFC 6749 §3.2: a parameter sent twice is an error; keeping the first is the safe reading.
            if form[key] == nil { form[key] = parts.count > 1 ? formDecode(String(parts[1])) : "" }
        }
        return form
    }

    static func formDecode(_ text: String) -> String {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? text
    }
}
