import BizAuth
import BizEvents
import BizStorage
import BizTesting
import Crypto
import Foundation
import IdentityService
import JWTKit
import Logging
import Testing

/// The HTTPS API gateway of the real executable, driven with curl over TLS (HTTP/2).
@Suite("HTTPS API gateway end to end", .serialized)
struct GatewayEndToEndTests {
    func withSystem(
        _ topology: Topology = .embedded, environment: [String: String] = [:],
        _ body: (any RunningSystem, HTTPSClient, String) async throws -> Void
    ) async throws {
        try await withTemporaryDirectory { directory in
            try await topology.withSystem(in: directory, environment: environment) { system in
                let https = HTTPSClient(system)
                try await body(system, https, try await https.adminToken(system))
            }
        }
    }

    /// The embedded process itself, for tests that read its data directory.
    func withEmbedded(
        environment: [String: String] = [:], _ body: (BizRetailProcess, HTTPSClient, String) async throws -> Void
    ) async throws {
        try await withTemporaryDirectory { directory in
            let system = try await BizRetailProcess(dataDirectory: directory, environment: environment)
            let https = HTTPSClient(system)
            do {
                try await body(system, https, try await https.adminToken(system))
            } catch {
                // A failed test still stops its process (else it would outlive the run, taking CPU).
                _ = try? await system.stop()
                throw error
            }
            try await system.stop()
        }
    }

    func versions(_ https: HTTPSClient, _ token: String, _ type: String, _ id: String, count: Int) async throws
        -> [JSONValue]
    {
        var versions: [JSONValue] = []
        try await BizRetailProcess.eventually("\(count) audited versions of \(type) \(id)") {
            let response = try await https.request("GET", "/v1/audit/entities/\(type)/\(id)/versions", bearer: token)
            guard response.status == 200, case .array(let items)? = response.json?["items"] else { return false }
            versions = items
            return items.count == count
        }
        return versions
    }

    @Test(
        "an account's life over HTTPS is audited with who did it, from where and in which request",
        arguments: Topology.allCases)
    func accountLifecycle(_ topology: Topology) async throws {
        try await withSystem(topology) { system, https, token in
            let team = try await https.json(
                "POST", "/v1/teams", ["name": "Vendas", "description": "Loja 1"], bearer: token)
            #expect(team.status == 201)
            #expect(team.httpVersion == "2")
            let teamID = try #require(team.json?["public_id"]?.stringValue)

            // A forged X-Forwarded-For from an untrusted peer must not change owner_ip.
            let created = try await https.json(
                "POST", "/v1/accounts",
                [
                    "name": "Maria Silva", "document_registry": "529.982.247-25", "email": "Maria@Example.com",
                    "team_ids": [.string(teamID)],
                ],
                bearer: token, headers: ["X-Forwarded-For": "203.0.113.9"]
            )
            #expect(created.status == 201, "\(created.text)")
            let account = try #require(created.json)
            let id = try #require(account["public_id"]?.stringValue)
            #expect(account["document_registry"] == "52998224725")
            #expect(account["email"] == "maria@example.com")
            #expect(created.headers["etag"] == "\"1\"")
            #expect(created.headers["location"] == "/v1/accounts/\(id)")
            let traceID = try #require(created.traceID)

            var history = try await versions(https, token, "account", id, count: 1)
            let first = history[0]
            #expect(first["version"] == 1)
            #expect(first["action_type"] == "new")
            #expect(first["is_active"] == true)
            let envelope = try #require(first["envelope"])
            #expect(envelope["event_type"] == "account.created")
            #expect(envelope["producer_service"] == "team_service")
            #expect(envelope["producer_service_id"]?.stringValue.map(EventID.isUUID) == true)
            #expect(envelope["trace_id"] == .string(traceID))
            #expect(envelope["timestamp"]?.stringValue.flatMap(EventTimestamp.init(rfc3339:)) != nil)
            #expect(envelope["payload"]?["public_id"] == .string(id))
            #expect(envelope["payload"]?["document_registry"] == "52998224725")
            #expect(envelope["payload"]?["name"] == "Maria Silva")
            #expect(envelope["payload"]?["id"]?.typeName == "number")
            let metadata = try #require(envelope["metadata"])
            #expect(metadata["owner_id"] == .string(system.bootstrapCredential("admin_id")!))
            #expect(metadata["owner_type"] == "user")
            #expect(metadata["owner_role"] == "admin")
            #expect(metadata["owner_ip"] == "127.0.0.1")
            #expect(metadata["event_schema_version"] == "1.0")
            #expect(metadata["environment"] == "development")
            #expect(metadata["ownership_id"]?.stringValue.map(EventID.isUUID) == true)

            let updated = try await https.json(
                "PATCH", "/v1/accounts/\(id)", ["name": "Maria S. Souza"], bearer: token,
                headers: ["If-Match": "\"1\""])
            #expect(updated.status == 200, "\(updated.text)")
            #expect(updated.json?["name"] == "Maria S. Souza")
            let stale = try await https.json(
                "PATCH", "/v1/accounts/\(id)", ["name": "x"], bearer: token, headers: ["If-Match": "\"1\""])
            #expect(stale.status == 412)
            history = try await versions(https, token, "account", id, count: 2)
            #expect(history.map { $0["is_active"] } == [false, true])
            #expect(history[1]["action_type"] == "update")

            let deleted = try await https.request("DELETE", "/v1/accounts/\(id)", bearer: token)
            #expect(deleted.status == 204)
            history = try await versions(https, token, "account", id, count: 3)
            #expect(history[2]["action_type"] == "delete")
            #expect(history.map { $0["is_active"] } == [false, false, false])
            #expect(try await https.request("GET", "/v1/accounts/\(id)", bearer: token).status == 404)
            #expect(try await https.request("DELETE", "/v1/accounts/\(id)", bearer: token).status == 404)

            // The ownership row links the person to the producing service.
            let ownershipID = try #require(metadata["ownership_id"]?.stringValue)
            let ownership = try await https.request("GET", "/v1/audit/ownerships/\(ownershipID)", bearer: token)
            // The account's three events; the outcome of its welcome email (the tenant's default rule, which fails
            // here: no SMTP server is configured) joins the person's trail when it has been audited.
            let producers = ownership.json?["producer_services"]?.arrayValue?.compactMap(\.stringValue) ?? []
            #expect(producers.contains("team_service"), "\(ownership.text)")
            #expect(Set(producers).isSubset(of: ["team_service", "notifications_service"]), "\(ownership.text)")
            let count = ownership.json?["event_count"]?.integerValue ?? 0
            #expect(count == 3 || (count == 4 && producers.contains("notifications_service")), "\(ownership.text)")
            let byTrace = try await https.request("GET", "/v1/audit/events?trace_id=\(traceID)", bearer: token)
            guard case .array(let traced)? = byTrace.json?["items"] else {
                Issue.record("no events by trace")
                return
            }
            #expect(traced.map { $0["event_type"] } == ["account.created"])
        }
    }

    @Test(
        "lists page with cursors and filter accounts by team; memberships, disable and enable round-trip",
        arguments: Topology.allCases)
    func listsAndMemberships(_ topology: Topology) async throws {
        try await withSystem(topology) { _, https, token in
            func create(_ path: String, _ body: JSONValue) async throws -> String {
                let response = try await https.json("POST", path, body, bearer: token)
                guard let id = response.json?["public_id"]?.stringValue else {
                    throw ProcessFailure("create failed: \(response.text)")
                }
                return id
            }
            let north = try await create("/v1/teams", ["name": "Norte"])
            let south = try await create("/v1/teams", ["name": "Sul"])
            let cpfs = ["52998224725", "11144477735", "39053344705"]
            var accounts: [String] = []
            for (index, cpf) in cpfs.enumerated() {
                accounts.append(
                    try await create(
                        "/v1/accounts",
                        [
                            "name": .string("Pessoa \(index)"), "document_registry": .string(cpf),
                            "email": .string("p\(index)@loja.example"),
                            "team_ids": index == 2 ? [.string(south)] : [.string(north)],
                        ]
                    )
                )
            }
            func list(_ query: String) async throws -> (ids: [String], next: String?) {
                let response = try await https.request("GET", "/v1/accounts\(query)", bearer: token)
                guard case .array(let items)? = response.json?["items"] else { throw ProcessFailure(response.text) }
                return (
                    items.compactMap { $0["public_id"]?.stringValue }, response.json?["next_page_token"]?.stringValue
                )
            }
            #expect(try await list("?team_id=\(north)").ids == Array(accounts.prefix(2)))
            let first = try await list("?page_size=2")
            #expect(first.ids == Array(accounts.prefix(2)))
            let second = try await list("?page_size=2&page_token=\(try #require(first.next))")
            #expect(second.ids == [accounts[2]])
            #expect(second.next == nil)

            let moved = try await https.json(
                "PATCH", "/v1/accounts/\(accounts[0])", ["team_ids": [.string(south)]], bearer: token)
            #expect(moved.json?["team_ids"] == [.string(south)])
            #expect(try await list("?team_id=\(south)").ids == [accounts[0], accounts[2]])

            let disabled = try await https.request("POST", "/v1/teams/\(north)/disable", bearer: token)
            #expect(disabled.json?["enabled"] == false)
            #expect(disabled.json?["version"] == 2)
            let enabled = try await https.request("POST", "/v1/teams/\(north)/enable", bearer: token)
            #expect(enabled.json?["enabled"] == true)
            let history = try await versions(https, token, "team", north, count: 3)
            #expect(history.map { $0["action_type"] } == ["new", "disable", "enable"])
        }
    }

    @Test(
        "a POST retried with the same Idempotency-Key creates one resource and gets the same answer",
        arguments: Topology.allCases)
    func idempotencyKeys(_ topology: Topology) async throws {
        try await withSystem(topology) { _, https, token in
            let key = ["Idempotency-Key": "order-7f3a"]
            let first = try await https.json("POST", "/v1/teams", ["name": "Uma vez"], bearer: token, headers: key)
            #expect(first.status == 201)
            #expect(first.headers["idempotent-replayed"] == nil)
            let again = try await https.json("POST", "/v1/teams", ["name": "Uma vez"], bearer: token, headers: key)
            #expect(again.status == 201)
            #expect(again.headers["idempotent-replayed"] == "true")
            #expect(again.json == first.json)
            #expect(again.headers["location"] == first.headers["location"])
            guard case .array(let teams)? = try await https.request("GET", "/v1/teams", bearer: token).json?["items"]
            else {
                Issue.record("no team list")
                return
            }
            #expect(teams.count == 1)

            let reused = try await https.json("POST", "/v1/teams", ["name": "Outra"], bearer: token, headers: key)
            #expect(reused.status == 422)
            #expect(reused.json?["field"] == "Idempotency-Key")
            let malformed = try await https.json(
                "POST", "/v1/teams", ["name": "x"], bearer: token, headers: ["Idempotency-Key": "has space"]
            )
            #expect(malformed.status == 400)

            // A client error is kept too: the retry gets the same 422, not a different outcome.
            let badCPF: JSONValue = ["name": "A", "document_registry": "12345678900", "email": "a@b.co"]
            let refused = try await https.json(
                "POST", "/v1/accounts", badCPF, bearer: token, headers: ["Idempotency-Key": "k2"])
            #expect(refused.status == 422)
            let refusedAgain = try await https.json(
                "POST", "/v1/accounts", badCPF, bearer: token, headers: ["Idempotency-Key": "k2"]
            )
            // Error answers are not kept (they created nothing, and may quote what was sent): the retry runs again.
            #expect(refusedAgain.status == 422)
            #expect(refusedAgain.headers["idempotent-replayed"] == nil)
        }
    }

    @Test("X-Forwarded-For is believed only from a trusted proxy", arguments: Topology.allCases)
    func trustedProxy(_ topology: Topology) async throws {
        try await withSystem(topology, environment: ["BIZ_TRUSTED_PROXIES": "127.0.0.1"]) { _, https, token in
            let team = try await https.json(
                "POST", "/v1/teams", ["name": "Proxied"], bearer: token,
                headers: ["X-Forwarded-For": "198.51.100.20"])
            let id = try #require(team.json?["public_id"]?.stringValue)
            let history = try await versions(https, token, "team", id, count: 1)
            #expect(history[0]["envelope"]?["metadata"]?["owner_ip"] == "198.51.100.20")
        }
    }

    @Test("bad input is answered with problem+json naming the field, never a 500", arguments: Topology.allCases)
    func badInput(_ topology: Topology) async throws {
        try await withSystem(topology) { _, https, token in
            func post(_ path: String, _ body: String, contentType: String = "application/json") async throws
                -> HTTPSClient.Response
            {
                try await https.request(
                    "POST", path, headers: ["Content-Type": contentType], body: Data(body.utf8), bearer: token)
            }
            let cases: [(HTTPSClient.Response, Int, String?)] = [
                (try await post("/v1/teams", "{\"name\": "), 400, "body"),
                (try await post("/v1/teams", "[1]"), 400, "body"),
                (try await post("/v1/teams", "{\"name\": 5}"), 400, "name"),
                (try await post("/v1/teams", "{\"description\": \"x\"}"), 400, "name"),
                (try await post("/v1/teams", "{\"name\": \"a\", \"color\": \"red\"}"), 400, "color"),
                (try await post("/v1/teams", "{\"name\": \"   \"}"), 400, "name"),
                (
                    try await post(
                        "/v1/teams", "{\"name\": \"a\", \"description\": \"\(String(repeating: "x", count: 2_001))\"}"),
                    400, "description"
                ),
                (try await post("/v1/teams", "name=a", contentType: "text/plain"), 415, nil),
                (
                    try await post(
                        "/v1/accounts", #"{"name":"A","document_registry":"123.456.789-00","email":"a@b.co"}"#),
                    422, "document_registry"
                ),
                (
                    try await post(
                        "/v1/accounts", #"{"name":"A","document_registry":"52998224725","email":"not-an-email"}"#),
                    400, "email"
                ),
                (
                    try await post(
                        "/v1/accounts",
                        #"{"name":"A","document_registry":"52998224725","email":"a@b.co","team_ids":["nope"]}"#), 422,
                    "team_ids"
                ),
                (
                    try await post(
                        "/v1/accounts",
                        #"{"name":"A","document_registry":"52998224725","email":"a@b.co","team_ids":"x"}"#), 400,
                    "team_ids"
                ),
            ]
            for (response, status, field) in cases {
                #expect(response.status == status, "\(response.text)")
                #expect(response.headers["content-type"] == "application/problem+json")
                #expect(response.json?["status"] == .integer(Int64(status)))
                if let field { #expect(response.json?["field"] == .string(field), "\(response.text)") }
            }
            let first = try await post(
                "/v1/accounts", #"{"name":"A","document_registry":"52998224725","email":"dup@b.co"}"#)
            #expect(first.status == 201)
            let duplicate = try await post(
                "/v1/accounts", #"{"name":"B","document_registry":"11144477735","email":"DUP@b.co"}"#)
            #expect(duplicate.status == 409)
            #expect(duplicate.json?["field"] == "email")

            let huge = "{\"name\": \"" + String(repeating: "x", count: (1 << 20) + 10) + "\"}"
            #expect(try await post("/v1/teams", huge).status == 413)
            #expect(
                try await https.request("GET", "/v1/teams/00000000-0000-4000-8000-000000000000", bearer: token).status
                    == 404)
            #expect(try await https.request("GET", "/v1/teams?page_size=abc", bearer: token).status == 400)
            // A page token is opaque: one the API did not issue is well-formed, but refused.
            #expect(try await https.request("GET", "/v1/teams?page_token=zzz", bearer: token).status == 422)
            // A method the document does not declare on a path it does: 405 naming the ones it does.
            let trace = try await https.request("TRACE", "/v1/teams", bearer: token)
            #expect(trace.status == 405)
            #expect(trace.headers["allow"] == "GET, POST")
            #expect(try await https.request("PUT", "/v1/teams/any-id").headers["allow"] == "DELETE, GET, PATCH")
            #expect(try await https.request("GET", "/nowhere").status == 404)
        }
    }

    @Test("expired, tampered, wrongly-signed and wrong-audience tokens get 401 with WWW-Authenticate")
    func badTokens() async throws {
        try await withEmbedded { system, https, token in
            let realKey = try await signingKey(of: system)
            let admin = system.bootstrapCredential("admin_id")!
            let issuer = try #require(
                try await https.request("GET", "/.well-known/openid-configuration").json?["issuer"]?.stringValue)
            func claims(audience: String = "biz-retail-api", issuedAt: Date = Date(), lifetime: TimeInterval = 600)
                -> AccessTokenClaims
            {
                AccessTokenClaims(
                    issuer: issuer, subject: admin, audience: [audience], issuedAt: issuedAt, lifetime: lifetime,
                    id: EventID.generate(),
                    tenantID: "platform", roles: ["admin"], scope: "api", ownerType: "user"
                )
            }
            let keys = JWTKeyCollection()
            await keys.add(ecdsa: realKey.key, kid: JWKIdentifier(string: realKey.kid))
            let forger = JWTKeyCollection()
            await forger.add(
                ecdsa: try ES256PrivateKey(backing: P256.Signing.PrivateKey()), kid: JWKIdentifier(string: realKey.kid))

            let valid = try await keys.sign(claims(), kid: JWKIdentifier(string: realKey.kid))
            #expect(try await https.request("GET", "/v1/teams", bearer: valid).status == 200)

            let expired = try await keys.sign(
                claims(issuedAt: Date().addingTimeInterval(-3600)), kid: JWKIdentifier(string: realKey.kid))
            let wrongAudience = try await keys.sign(
                claims(audience: "someone-else"), kid: JWKIdentifier(string: realKey.kid))
            let forged = try await forger.sign(claims(), kid: JWKIdentifier(string: realKey.kid))
            var parts = token.split(separator: ".").map(String.init)
            parts[1] = Data(#"{"sub":"intruder"}"#.utf8).base64EncodedString()
            let tampered = parts.joined(separator: ".")
            for bad in [expired, wrongAudience, forged, tampered, "not-a-jwt"] {
                let response = try await https.request("GET", "/v1/teams", bearer: bad)
                #expect(response.status == 401)
                #expect(response.headers["www-authenticate"]?.hasPrefix("Bearer") == true)
                #expect(response.headers["content-type"] == "application/problem+json")
            }
            #expect(try await https.request("GET", "/v1/teams").status == 401)
        }
    }

    @Test(
        "OAuth2: client credentials, refresh rotation with reuse detection, RFC 6749 errors, discovery and keys",
        arguments: Topology.allCases)
    func oauth(_ topology: Topology) async throws {
        try await withSystem(topology) { system, https, _ in
            let client = (system.bootstrapCredential("client_id")!, system.bootstrapCredential("client_secret")!)
            let operatorClient = (system.operatorCredential("client_id")!, system.operatorCredential("client_secret")!)
            // The login client is no service account: its secret gets no token of its own.
            let loginAsService = try await https.token(["grant_type": "client_credentials"], basic: client)
            #expect(loginAsService.status == 400)
            #expect(loginAsService.json?["error"] == "unauthorized_client")
            // The service client signs no user in.
            let serviceAsLogin = try await https.token(
                [
                    "grant_type": "password", "username": system.bootstrapCredential("admin_email")!,
                    "password": system.bootstrapCredential("admin_password")!,
                ], basic: operatorClient)
            #expect(serviceAsLogin.json?["error"] == "unauthorized_client")
            let service = try await https.token(["grant_type": "client_credentials"], basic: operatorClient)
            #expect(service.status == 200)
            #expect(service.headers["cache-control"] == "no-store")
            #expect(service.json?["refresh_token"] == nil)
            #expect(service.json?["expires_in"] == 900)

            let login = try await https.token([
                "grant_type": "password", "username": system.bootstrapCredential("admin_email")!,
                "password": system.bootstrapCredential("admin_password")!, "client_id": client.0,
                "client_secret": client.1,
            ])
            let refresh = try #require(login.json?["refresh_token"]?.stringValue)
            let rotated = try await https.token(
                ["grant_type": "refresh_token", "refresh_token": refresh], basic: client)
            #expect(rotated.status == 200)
            let next = try #require(rotated.json?["refresh_token"]?.stringValue)
            #expect(next != refresh)
            let reused = try await https.token(
                ["grant_type": "refresh_token", "refresh_token": refresh], basic: client)
            #expect(reused.status == 400)
            #expect(reused.json?["error"] == "invalid_grant")
            // Reuse revoked the whole family, so the rotated token is dead too.
            #expect(
                try await https.token(["grant_type": "refresh_token", "refresh_token": next], basic: client).status
                    == 400)

            let wrongSecret = try await https.token(["grant_type": "client_credentials"], basic: (client.0, "wrong"))
            #expect(wrongSecret.status == 401)
            #expect(wrongSecret.json?["error"] == "invalid_client")
            #expect(wrongSecret.headers["www-authenticate"]?.hasPrefix("Basic") == true)
            #expect(
                try await https.token(["grant_type": "magic"], basic: client).json?["error"] == "unsupported_grant_type"
            )
            #expect(
                try await https.token(
                    ["grant_type": "password", "username": "x@y.z", "password": "nope-nope"], basic: client
                )
                .json?["error"] == "invalid_grant")
            #expect(
                try await https.token(["grant_type": "client_credentials", "scope": "root"], basic: operatorClient)
                    .json?[
                        "error"]
                    == "invalid_scope")

            // RFC 7662 / 7009: introspect a live refresh token, revoke it, and it is dead (and so is its session).
            let fresh = try await https.token(
                [
                    "grant_type": "password", "username": system.bootstrapCredential("admin_email")!,
                    "password": system.bootstrapCredential("admin_password")!,
                ], basic: client)
            let liveRefresh = try #require(fresh.json?["refresh_token"]?.stringValue)
            let liveAccess = try #require(fresh.json?["access_token"]?.stringValue)
            func introspect(_ token: String) async throws -> JSONValue? {
                try await https.form("/oauth2/introspect", ["token": token], basic: client).json
            }
            #expect(try await introspect(liveAccess)?["active"] == true)
            #expect(try await introspect(liveAccess)?["sub"] == .string(system.bootstrapCredential("admin_id")!))
            #expect(try await introspect(liveRefresh)?["token_type"] == "refresh_token")
            #expect(try await introspect("garbage")?["active"] == false)
            let revoke = try await https.form("/oauth2/revoke", ["token": liveRefresh], basic: client)
            #expect(revoke.status == 200)
            #expect(try await introspect(liveRefresh)?["active"] == false)
            #expect(
                try await https.token(["grant_type": "refresh_token", "refresh_token": liveRefresh], basic: client)
                    .status
                    == 400)
            let revokeAccess = try await https.form("/oauth2/revoke", ["token": liveAccess], basic: client)
            #expect(revokeAccess.json?["error"] == "unsupported_token_type")

            let discovery = try await https.request("GET", "/.well-known/openid-configuration")
            #expect(discovery.json?["token_endpoint"]?.stringValue?.hasSuffix("/oauth2/token") == true)
            let jwks = try await https.request("GET", "/oauth2/jwks")
            let jwk = try #require(
                jwks.json?["keys"].flatMap { if case .array(let keys) = $0 { keys.first } else { nil } })
            #expect(jwk["kty"] == "EC" && jwk["crv"] == "P-256" && jwk["alg"] == "ES256")
            #expect(jwk["d"] == nil)
            #expect(try await https.request("GET", "/health/live").status == 200)
            #expect(try await https.request("GET", "/health/ready").status == 200)
        }
    }

    @Test("bootstrap credentials come from BIZ_BOOTSTRAP_*, and signing keys survive a restart")
    func bootstrapFromEnvironment() async throws {
        try await withTemporaryDirectory { directory in
            let environment = [
                "BIZ_BOOTSTRAP_ADMIN_EMAIL": "root@loja.example",
                "BIZ_BOOTSTRAP_ADMIN_PASSWORD": "correct horse battery",
                "BIZ_BOOTSTRAP_CLIENT_ID": "loja-app", "BIZ_BOOTSTRAP_CLIENT_SECRET": "s3cret-s3cret-s3cret-s3cret",
                // Fixed, because the test runs on a random port each start and tokens name their issuer.
                "BIZ_ISSUER": "https://biz-retail.test",
            ]
            let system = try await BizRetailProcess(dataDirectory: directory, environment: environment)
            #expect(!FileManager.default.fileExists(atPath: directory + "/bootstrap-credentials.json"))
            let masterKey = try FileManager.default.attributesOfItem(atPath: directory + "/master.key")
            #expect((masterKey[.posixPermissions] as? NSNumber)?.intValue == 0o600)
            let https = HTTPSClient(system)
            let login = try await https.token(
                ["grant_type": "password", "username": "ROOT@loja.example", "password": "correct horse battery"],
                basic: ("loja-app", "s3cret-s3cret-s3cret-s3cret")
            )
            let token = try #require(login.json?["access_token"]?.stringValue, "\(login.text)")
            #expect(
                try await https.request("GET", "/oauth2/userinfo", bearer: token).json?["email"] == "root@loja.example")
            #expect(!system.log().contains("correct horse battery") && !system.log().contains("s3cret"))
            try await system.stop()

            // Same data directory: the persisted (sealed) signing key still verifies the earlier token.
            let restarted = try await BizRetailProcess(dataDirectory: directory, environment: environment)
            #expect(try await HTTPSClient(restarted).request("GET", "/v1/teams", bearer: token).status == 200)
            try await restarted.stop()
        }
    }

    @Test("generated credentials, and the data directory, are for their owner only")
    func generatedCredentials() async throws {
        try await withEmbedded { system, _, _ in
            func mode(_ path: String) throws -> Int? {
                (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue
            }
            for file in ["bootstrap-credentials.json", "operator-credentials.json", "master.key"] {
                #expect(try mode(system.dataDirectory + "/" + file) == 0o600, "\(file)")
            }
            // The test made the directory 0755; the process narrowed it.
            #expect(try mode(system.dataDirectory) == 0o700)
            #expect(try mode(system.dataDirectory + "/tls") == 0o700)
            let password = try #require(system.bootstrapCredential("admin_password"))
            #expect(!system.log().contains(password))
        }
    }

    @Test("the gateway refuses TLS 1.0 and 1.1 with a protocol_version alert, and accepts TLS 1.2")
    func minimumTLSVersion() async throws {
        try await withEmbedded { _, https, _ in
            let port = try #require(https.baseURL.split(separator: ":").last)
            func handshake(_ maximum: String) async throws -> String {
                try await Self.python(
                    """
                    import socket, ssl
                    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); c.check_hostname = False; c.verify_mode = ssl.CERT_NONE
                    c.set_ciphers('DEFAULT:@SECLEVEL=0'); c.minimum_version = ssl.TLSVersion.TLSv1
                    c.maximum_version = ssl.TLSVersion.\(maximum)
                    try:
                        s = c.wrap_socket(socket.create_connection(('127.0.0.1', \(port))))
                        print('accepted', s.version())
                    except ssl.SSLError as e:
                        print('refused', e.reason)
                    """
                ).output
            }
            // The server's alert, not the client declining to offer the version: the refusal comes from the gateway.
            #expect(try await handshake("TLSv1_1").contains("refused TLSV1_ALERT_PROTOCOL_VERSION"))
            #expect(try await handshake("TLSv1").contains("refused TLSV1_ALERT_PROTOCOL_VERSION"))
            #expect(try await handshake("TLSv1_2").contains("accepted TLSv1.2"))
        }
    }

    @Test("a silent connection is closed after the handshake timeout, an idle one after the idle timeout")
    func connectionTimeouts() async throws {
        let timeouts = ["BIZ_GATEWAY_HANDSHAKE_TIMEOUT": "1", "BIZ_GATEWAY_IDLE_TIMEOUT": "2"]
        try await withEmbedded(environment: timeouts) { _, https, _ in
            let port = try #require(https.baseURL.split(separator: ":").last)
            // Each prints how the server ended the connection and after how many seconds; the client waits up to 15.
            let output = try await Self.python(
                """
                import socket, ssl, time
                def closed_after(s):
                    start = time.time()
                    try:
                        data = s.recv(1)
                    except (ConnectionResetError, ssl.SSLError):
                        data = b''
                    return 'closed' if data == b'' else 'data', round(time.time() - start, 1)
                silent = socket.create_connection(('127.0.0.1', \(port))); silent.settimeout(15)
                print('silent', *closed_after(silent))
                c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); c.check_hostname = False; c.verify_mode = ssl.CERT_NONE
                c.set_alpn_protocols(['http/1.1'])
                idle = c.wrap_socket(socket.create_connection(('127.0.0.1', \(port)))); idle.settimeout(15)
                print('idle', *closed_after(idle))
                """
            ).output
            let lines = output.split(separator: "\n").map { $0.split(separator: " ") }
            let silent = try #require(lines.first { $0.first == "silent" })
            let idle = try #require(lines.first { $0.first == "idle" })
            #expect(silent[1] == "closed" && (Double(silent[2]) ?? 99) < 5, "\(output)")
            #expect(idle[1] == "closed" && (Double(idle[2]) ?? 99) >= 1.5 && (Double(idle[2]) ?? 99) < 8, "\(output)")
            // The gateway still serves.
            #expect(try await https.request("GET", "/health/live").status == 200)
        }
    }

    @Test("/openapi.json is a valid OpenAPI 3.1 document describing every route")
    func openAPI() async throws {
        try await withEmbedded { system, https, _ in
            let response = try await https.request("GET", "/openapi.json")
            #expect(response.status == 200)
            guard case .object(let paths)? = response.json?["paths"] else {
                Issue.record("no paths")
                return
            }
            let expected: [String: Set<String>] = [
                "/v1/teams": ["get", "post"], "/v1/teams/{id}": ["get", "patch", "delete"],
                "/v1/teams/{id}/disable": ["post"], "/v1/teams/{id}/enable": ["post"],
                "/v1/accounts": ["get", "post"], "/v1/accounts/{id}": ["get", "patch", "delete"],
                "/v1/accounts/{id}/disable": ["post"], "/v1/accounts/{id}/enable": ["post"],
                "/v1/client-contractors": ["get", "post"], "/v1/client-contractors/{id}": ["get", "patch", "delete"],
                "/v1/client-contractors/{id}/disable": ["post"], "/v1/client-contractors/{id}/enable": ["post"],
                "/v1/cost-centers": ["get", "post"], "/v1/cost-centers/{id}": ["get", "patch", "delete"],
                "/v1/cost-centers/{id}/tree": ["get"], "/v1/cost-centers/{id}/disable": ["post"],
                "/v1/cost-centers/{id}/enable": ["post"],
                "/v1/users": ["get", "post"], "/v1/users/{id}": ["get", "patch", "delete"],
                "/v1/users/{id}/disable": ["post"], "/v1/users/{id}/enable": ["post"],
                "/v1/users/{id}/reset-password": ["post"], "/v1/users/{id}/unlock": ["post"],
                "/v1/oauth-clients": ["get", "post"], "/v1/oauth-clients/{id}": ["get"],
                "/v1/oauth-clients/{id}/disable": ["post"], "/v1/oauth-clients/{id}/enable": ["post"],
                "/v1/oauth-clients/{id}/rotate-secret": ["post"],
                "/v1/audit/entities/{entity_type}/{entity_id}/versions": ["get"], "/v1/audit/events": ["get"],
                "/v1/audit/ownerships/{ownership_id}": ["get"],
                "/v1/webhooks": ["get", "post"], "/v1/webhooks/{id}": ["get", "patch", "delete"],
                "/v1/webhooks/{id}/disable": ["post"], "/v1/webhooks/{id}/enable": ["post"],
                "/v1/webhooks/{id}/rotate-secret": ["post"], "/v1/notification-deliveries": ["get"],
                "/v1/notification-deliveries/{id}": ["get"], "/v1/notification-deliveries/{id}/retry": ["post"],
                "/v1/notification-templates": ["get", "post"],
                "/v1/notification-templates/{key}": ["get", "patch", "delete"],
                "/v1/notification-rules": ["get", "post"], "/v1/notification-rules/{id}": ["get", "patch", "delete"],
                "/v1/notification-rules/{id}/disable": ["post"], "/v1/notification-rules/{id}/enable": ["post"],
                "/v1/notifications": ["get"], "/v1/notifications/{id}/read": ["post"],
                "/v1/notifications/read-all": ["post"], "/v1/notifications/stream": ["get"],
                "/v1/notifications/unread-count": ["get"], "/v1/feature-flags": ["get"],
                "/oauth2/token": ["post"], "/oauth2/jwks": ["get"],
                "/oauth2/revoke": ["post"], "/oauth2/introspect": ["post"], "/oauth2/authorize": ["get", "post"],
                "/oauth2/logout": ["get", "post"], "/oauth2/userinfo": ["get"],
                "/.well-known/openid-configuration": ["get"], "/health/live": ["get"], "/health/ready": ["get"],
                "/openapi.json": ["get"],
            ]
            for (path, methods) in expected {
                #expect(Set(paths[path]?.objectValue?.keys ?? [:].keys) == methods, "\(path)")
            }
            #expect(Set(paths.keys) == Set(expected.keys))
            let file = system.dataDirectory + "/openapi.json"
            try response.body.write(to: URL(fileURLWithPath: file))
            let validation = try await Self.python(
                "from openapi_spec_validator import validate; from openapi_spec_validator.readers import read_from_filename; "
                    + "validate(read_from_filename('\(file)')[0]); print('valid')"
            )
            #expect(validation.status == 0, "\(validation.error)")
            #expect(validation.output.contains("valid"))
        }
    }

    static func python(_ code: String) async throws -> CommandResult {
        try await runProgram("/usr/bin/env", ["python3", "-c", code])
    }

    /// The identity service's real signing key, read from its database with the master key, to mint edge-case tokens.
    func signingKey(of system: BizRetailProcess) async throws -> (kid: String, key: ES256PrivateKey) {
        let masterText = try String(contentsOfFile: system.dataDirectory + "/master.key", encoding: .utf8)
        let master = try #require(MasterKey(base64: masterText.trimmingCharacters(in: .whitespacesAndNewlines)))
        let store = try await SQLiteStore.open(
            path: system.dataDirectory + "/identity.sqlite", migrations: [], logger: Logger(label: "test")
        )
        let row = try await store.read { database in
            try await database.raw("SELECT kid, sealed_private_key FROM signing_keys").first()
        }
        try await store.close()
        let kid = try #require(row).decode(column: "kid", as: String.self)
        let sealed = try #require(row).decode(column: "sealed_private_key", as: Data.self)
        let key = try P256.Signing.PrivateKey(rawRepresentation: try master.open(sealed))
        return (kid, try ES256PrivateKey(backing: key))
    }
}
