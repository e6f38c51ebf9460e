import BizAuth
import BizEvents
import BizProtos
import Crypto
import Foundation
import JWTKit
import Synchronization
import Testing

/// Key ids and key-set reloads: a rotated key is picked up, a made-up one is refused without reaching jwt-kit's
/// default key.
@Suite("Token verifier")
struct TokenVerifierTests {
    struct Key {
        let kid: String
        let key = ES256PrivateKey()

        var jwk: JSONValue {
            let parameters = key.publicKey.parameters!
            return [
                "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": .string(kid),
                "x": .string(parameters.x), "y": .string(parameters.y),
            ]
        }

        func sign(kid: String? = nil, audience: [String] = ["api"], ownerType: String = "user") async throws -> String {
            let keys = JWTKeyCollection()
            await keys.add(ecdsa: key, kid: kid.map { JWKIdentifier(string: $0) })
            let claims = AccessTokenClaims(
                issuer: "https://issuer.test", subject: "s", audience: audience, issuedAt: Date(), lifetime: 600,
                id: EventID.generate(), tenantID: "platform", roles: ["admin"], scope: "api", ownerType: ownerType)
            return try await keys.sign(claims, kid: kid.map { JWKIdentifier(string: $0) })
        }
    }

    /// A verifier whose key set is `published` at each load; counts the loads.
    final class Published: Sendable {
        let keys: Mutex<[JSONValue]>
        let loads = Mutex(0)
        init(_ keys: [Key]) { self.keys = Mutex(keys.map(\.jwk)) }

        func verifier() -> TokenVerifier {
            TokenVerifier(issuer: "https://issuer.test", audience: "api") { [self] in
                loads.withLock { $0 += 1 }
                return JSONValue.object(["keys": .array(keys.withLock { $0 })]).canonicalString()
            }
        }
    }

    @Test("a token naming a key published after the set was loaded is verified after one reload")
    func rotation() async throws {
        let old = Key(kid: "old")
        let new = Key(kid: "new")
        let published = Published([old])
        let verifier = published.verifier()
        _ = try await verifier.verify(try await old.sign(kid: "old"))
        published.keys.withLock { $0.append(new.jwk) }
        let principal = try await verifier.verify(try await new.sign(kid: "new"))
        #expect(principal.subject == "s")
        #expect(published.loads.withLock { $0 } == 2)
    }

    @Test("an unknown key id, or none, is refused; made-up ids reload the set at most once per interval")
    func unknownKeyID() async throws {
        let real = Key(kid: "real")
        let published = Published([real])
        let verifier = published.verifier()
        let stranger = Key(kid: "other")
        for kid in ["made-up-1", "made-up-2", "made-up-3"] {
            let error = await #expect(throws: AuthError.self) {
                try await verifier.verify(try await stranger.sign(kid: kid))
            }
            #expect(error == .unauthenticated("the token's signing key is unknown"))
        }
        // The first token loaded the set and, its id unknown, reloaded it once; the next made-up ids within 10 s did
        // not reload it again.
        #expect(published.loads.withLock { $0 } == 2)
        let unnamed = await #expect(throws: AuthError.self) { try await verifier.verify(try await real.sign(kid: nil)) }
        #expect(unnamed == .unauthenticated("the token names no signing key"))
    }
}

extension TokenVerifierTests {
    @Test("a service account's token is for the services it names, not the API; another audience is for neither")
    func serviceAudiences() async throws {
        let key = Key(kid: "k")
        let verifier = Published([key]).verifier()
        let service = try await key.sign(
            kid: "k", audience: ["biz-retail:team", "biz-retail:contractor"], ownerType: "service")
        let principal = try await verifier.verify(service, for: "biz-retail:team")
        #expect(principal.isServiceAccount)
        #expect(try await verifier.verify(service, for: "biz-retail:contractor").subject == "s")
        let elsewhere = await #expect(throws: AuthError.self) {
            try await verifier.verify(service, for: "biz-retail:audit")
        }
        #expect(elsewhere == .unauthenticated("the token is not meant for this service"))
        // Cached by now: the audience is checked on every use, not only the first.
        let api = await #expect(throws: AuthError.self) { try await verifier.verify(service) }
        #expect(api == .unauthenticated("the token is not meant for this API"))

        // An API token is accepted by every service, and is no service's account.
        let user = try await key.sign(kid: "k")
        #expect(try await verifier.verify(user, for: "biz-retail:audit").isServiceAccount == false)
        let stranger = try await key.sign(kid: "k", audience: ["someone-else"])
        let refused = await #expect(throws: AuthError.self) {
            try await verifier.verify(stranger, for: "biz-retail:team")
        }
        #expect(refused == .unauthenticated("the token has the wrong audience"))
    }
}

extension TokenVerifierTests {
    @Test("the fast ES256 path refuses what jwt-kit refuses: a changed payload, an expired token, another algorithm")
    func fastPath() async throws {
        let key = Key(kid: "k")
        let verifier = Published([key]).verifier()
        let good = try await key.sign(kid: "k")
        // The first token loads the set (through jwt-kit); the next ones take the fast path, with the same answer.
        let first = try await verifier.verify(good)
        let second = try await verifier.verify(try await key.sign(kid: "k"))
        #expect(first.subject == second.subject && first.roles == second.roles && first.audiences == ["api"])

        let parts = good.split(separator: ".").map(String.init)
        var claims = try #require(Data(base64URL: parts[1]).flatMap { try? JSONParser.parse(Array($0)) }?.objectValue)
        claims["roles"] = ["admin", "root"]
        let changed = [parts[0], Data(JSONValue.object(claims).canonicalBytes()).base64URLEncodedString, parts[2]]
        let tampered = await #expect(throws: AuthError.self) {
            try await verifier.verify(changed.joined(separator: "."))
        }
        #expect(tampered == .unauthenticated("the token's signature does not verify"))

        let keys = JWTKeyCollection()
        await keys.add(ecdsa: key.key, kid: "k")
        let expired = AccessTokenClaims(
            issuer: "https://issuer.test", subject: "s", audience: ["api"], issuedAt: Date() - 1_200, lifetime: 600,
            id: EventID.generate(), tenantID: "platform", roles: [], scope: "api", ownerType: "user")
        let late = await #expect(throws: AuthError.self) {
            try await verifier.verify(try await keys.sign(expired, kid: "k"))
        }
        #expect(late == .unauthenticated("the token has expired"))

        // `alg: none` naming a known key: not the fast path's to accept; jwt-kit refuses it.
        let none = Data(#"{"alg":"none","kid":"k","typ":"JWT"}"#.utf8).base64URLEncodedString
        let unsigned = await #expect(throws: AuthError.self) { try await verifier.verify("\(none).\(parts[1]).") }
        #expect(unsigned?.kind == .unauthenticated)
    }
}

/// Service accounts: ids every process derives alike, secrets from the master key.
@Suite("Service accounts")
struct ServiceAccountTests {
    @Test("the public id is a version-5 UUID of the client id: the same everywhere, one per service")
    func publicIDs() {
        let team = ServiceAccount.publicID(of: "team")
        #expect(EventID.isUUID(team))
        #expect(Array(team)[14] == "5")
        #expect("89ab".contains(Array(team)[19]))
        #expect(team == ServiceAccount.publicID(of: "team"))
        let all = Set(
            ["gateway", "identity", "contractor", "cost-center", "team", "audit"].map(ServiceAccount.publicID))
        #expect(all.count == 6)
        #expect(ServiceAccount.isAccount(clientID: "biz-retail-team", publicID: team))
        #expect(!ServiceAccount.isAccount(clientID: "biz-retail-team", publicID: EventID.generate()))
        #expect(!ServiceAccount.isAccount(clientID: "c-team", publicID: team))
        // The gateway's account predates derived ids: it is known by its client id.
        #expect(ServiceAccount.isAccount(clientID: "biz-retail-gateway", publicID: EventID.generate()))
    }

    @Test("a derived secret differs by service and by master key, and is never printed")
    func secrets() {
        let key = MasterKey.generate()
        let team = ServiceAccount.derivedSecret(of: "team", masterKey: key)
        #expect(team == ServiceAccount.derivedSecret(of: "team", masterKey: key))
        #expect(team != ServiceAccount.derivedSecret(of: "audit", masterKey: key))
        #expect(team != ServiceAccount.derivedSecret(of: "team", masterKey: .generate()))
        #expect(team.count == 43 && !team.contains("=") && !team.contains("+") && !team.contains("/"))
        let account = ServiceAccount(service: "team", calls: ["cost-center"], secret: team)
        #expect(!"\(account)".contains(team))
        #expect(account.audiences == ["biz-retail:cost-center"])
        #expect(account.role == "service")
        #expect(ServiceAccount(service: "gateway", calls: [], secret: "x").role == "gateway")
    }
}

/// Page tokens carry a row position sealed under the master key.
@Suite("Page tokens")
struct PageTokenTests {
    @Test("a token round-trips, hides its position, and is refused when changed or sealed under another key")
    func sealed() throws {
        let tokens = PageTokens(masterKey: .generate())
        let token = tokens.token(after: 1234)
        #expect(try tokens.position(of: token) == 1234)
        #expect(try tokens.position(of: "") == nil)
        #expect(!token.contains("1234") && !token.contains(String(1234, radix: 36)))
        #expect(tokens.token(after: 1234) != token)
        var changed = Array(token)
        changed[10] = changed[10] == "A" ? "B" : "A"
        for bad in [String(changed), PageTokens(masterKey: .generate()).token(after: 1234), "p1", "zzz"] {
            #expect(throws: PaginationError.self) { try tokens.position(of: bad) }
        }
    }

    @Test("BIZ_EXTERNAL_ISSUERS is read strictly: each mistake is named")
    func externalIssuerSettings() throws {
        let issuers = try ExternalIssuer.parse(
            #"[{"issuer": "https://sso.loja.example/realms/loja", "audience": "biz-retail-api", "roles": {"gerente": "manager"}}]"#
        )
        #expect(issuers.first?.roles == ["gerente": "manager"])
        #expect(issuers.first?.tenantClaim == "tenant_id")
        for (text, problem) in [
            ("{}", "JSON array"), (#"[{"issuer": "https://a.example"}]"#, "issuer and audience"),
            (#"[{"issuer": "http://sso.example/realms/x", "audience": "a"}]"#, "https"),
            (#"[{"issuer": "https://a.example", "audience": "a", "roles": {"x": "root"}}]"#, "roles.x"),
            (#"[{"issuer": "https://a.example", "audience": "a", "tenant": "x"}]"#, "tenant is not a setting"),
            (#"[{"issuer": "https://a.example", "audience": "a", "tenant_id": "loja"}]"#, "tenant_id"),
            (
                #"[{"issuer": "https://a.example", "audience": "a"}, {"issuer": "https://a.example", "audience": "b"}]"#,
                "twice"
            ),
        ] {
            #expect(throws: ExternalIssuerSettingError.self, "\(text)") { try ExternalIssuer.parse(text) }
            do {
                _ = try ExternalIssuer.parse(text)
            } catch {
                #expect(error.description.contains(problem), "\(text): \(error)")
            }
        }
    }
}
