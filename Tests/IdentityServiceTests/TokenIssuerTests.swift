import BizAuth
import BizEvents
import BizOutbox
import BizProtos
import BizServiceKit
import BizStorage
import BizTesting
import Foundation
import Logging
import Synchronization
import Testing

@testable import IdentityService

/// The Identity Provider's token issuance over a temporary SQLite database, verified by the same verifier the
/// services use.
@Suite("Token issuer")
struct TokenIssuerTests {
    struct Fixture {
        var directory: IdentityDirectory
        var issuer: TokenIssuer
        var verifier: TokenVerifier
        var keys: SigningKeyStore
    }

    func withIssuer<T>(_ kind: StoreKind = .sqlite, _ body: (Fixture) async throws -> T) async throws -> T {
        try await TestDatabases.withStore(kind, migrations: IdentityModule.migrations) { store in
            let directory = IdentityDirectory(
                outbox: Outbox(store: store),
                events: EventFactory(
                    producerService: "identity_service", producerServiceID: EventID.generate(), environment: "test",
                    serviceOwnerID: ServiceAccount.publicID(of: "identity")),
                bcryptCost: 4)
            let keys = SigningKeyStore(store: store, masterKey: .generate())
            let issuer = TokenIssuer(
                directory: directory, keys: keys, issuer: "https://issuer.test",
                audience: PlatformConfiguration.audience)
            let verifier = TokenVerifier(issuer: "https://issuer.test", audience: PlatformConfiguration.audience) {
                try await keys.jwks()
            }
            _ = try await directory.createClient(
                clientID: "service-a", secret: "secret-a-0123456789", name: "A", tenantID: "platform",
                roles: ["admin"], grantTypes: ["client_credentials"], firstParty: false)
            return try await body(Fixture(directory: directory, issuer: issuer, verifier: verifier, keys: keys))
        }
    }

    @Test("client_credentials gives a token the services' verifier accepts, with the client's tenant and roles")
    func clientCredentials() async throws {
        try await withIssuer { fixture in
            let token = try await fixture.issuer.issue(
                TokenRequest(
                    grantType: "client_credentials", clientID: "service-a", clientSecret: "secret-a-0123456789"))
            let principal = try await fixture.verifier.verify(token.accessToken)
            #expect(principal.tenantID == "platform")
            #expect(principal.roles == ["admin"])
            #expect(principal.ownerType == "service")
            #expect(token.expiresIn == 900)
        }
    }

    @Test(
        "a service account's secret rotated by the configuration: the previous one is accepted beside the new one for the grace period, then refused"
    )
    func rotatedServiceSecret() async throws {
        try await withIssuer { fixture in
            var bootstrap = IdentityBootstrap(
                directory: fixture.directory, dataDirectory: URL(fileURLWithPath: NSTemporaryDirectory()),
                logger: Logger(label: "test.bootstrap"))
            bootstrap.secretGraceSeconds = 600
            let account = ServiceAccount(service: "gateway", calls: ["team"], secret: "first-secret-0123456789")
            try await bootstrap.ensureServiceAccounts([account])
            func issue(_ secret: String) async -> String? {
                do {
                    _ = try await fixture.issuer.issue(
                        TokenRequest(grantType: "client_credentials", clientID: account.clientID, clientSecret: secret))
                    return nil
                } catch let error as OAuthError {
                    return error.code
                } catch {
                    return "\(error)"
                }
            }
            #expect(await issue("first-secret-0123456789") == nil)
            #expect(await issue("second-secret-0123456789") == "invalid_client")

            try await bootstrap.rotateSecret(of: account.clientID, to: "second-secret-0123456789")
            #expect(await issue("second-secret-0123456789") == nil)
            #expect(await issue("first-secret-0123456789") == nil)
            #expect(await issue("some-other-secret") == "invalid_client")
            // Rotating again to the same value changes nothing (every refresh of every replica hands it over).
            try await bootstrap.rotateSecret(of: account.clientID, to: "second-secret-0123456789")
            #expect(await issue("first-secret-0123456789") == nil)

            // Once the grace period is over, only the new secret (decided on the stored client, at its boundary).
            let rotated = try #require(try await fixture.directory.client(id: account.clientID))
            let now = Int64(Date().timeIntervalSince1970)
            #expect((now + 590...now + 610).contains(rotated.previousSecretUntil))
            #expect(rotated.accepts(secret: "first-secret-0123456789", now: rotated.previousSecretUntil - 1))
            #expect(!rotated.accepts(secret: "first-secret-0123456789", now: rotated.previousSecretUntil))
            #expect(rotated.accepts(secret: "second-secret-0123456789", now: rotated.previousSecretUntil + 86_400))
            #expect(!rotated.accepts(secret: "some-other-secret", now: now))
            // An API-made client's secret has no grace period: it is not rotated this way.
            let client = try #require(try await fixture.directory.client(id: "service-a"))
            #expect(client.previousSecretHash.isEmpty)
        }
    }

    @Test("a wrong client secret is invalid_client, and says nothing about the secret")
    func wrongSecret() async throws {
        try await withIssuer { fixture in
            let error = await #expect(throws: OAuthError.self) {
                try await fixture.issuer.issue(
                    TokenRequest(grantType: "client_credentials", clientID: "service-a", clientSecret: "guess"))
            }
            #expect(error?.code == "invalid_client")
            #expect(error?.description.contains("guess") == false)
        }
    }

    @Test("the password grant is refused to a client that is not first-party")
    func passwordNeedsFirstParty() async throws {
        try await withIssuer { fixture in
            _ = try await fixture.directory.createUser(
                tenantID: "platform", email: "ana@example.com", name: "Ana", password: "a long password 123",
                roles: ["viewer"], caller: nil)
            let error = await #expect(throws: OAuthError.self) {
                try await fixture.issuer.issue(
                    TokenRequest(
                        grantType: "password", clientID: "service-a", clientSecret: "secret-a-0123456789",
                        username: "ana@example.com", password: "a long password 123"))
            }
            #expect(error?.code == "unauthorized_client")
        }
    }

    @Test("a token signed by another key set is refused")
    func foreignKeys() async throws {
        let foreign = try await withIssuer { fixture in
            try await fixture.issuer.issue(
                TokenRequest(
                    grantType: "client_credentials", clientID: "service-a", clientSecret: "secret-a-0123456789")
            ).accessToken
        }
        let refused = try await withIssuer { fixture in
            do {
                _ = try await fixture.verifier.verify(foreign)
                return false
            } catch {
                return true
            }
        }
        #expect(refused)
    }

    @Test(
        "of concurrent refreshes with one refresh token exactly one succeeds, and the reuse ends the session",
        arguments: StoreKind.available)
    func concurrentRefresh(_ kind: StoreKind) async throws {
        try await withIssuer(kind) { fixture in
            _ = try await fixture.directory.createClient(
                clientID: "web", secret: "secret-web-0123456789", name: "Web", tenantID: "platform", roles: [],
                grantTypes: ["password", "refresh_token"], firstParty: true)
            _ = try await fixture.directory.createUser(
                tenantID: "platform", email: "ana@example.com", name: "Ana", password: "a long password 123",
                roles: ["viewer"], caller: nil)
            let login = try await fixture.issuer.issue(
                TokenRequest(
                    grantType: "password", clientID: "web", clientSecret: "secret-web-0123456789",
                    username: "ana@example.com", password: "a long password 123"))
            let refreshToken = try #require(login.refreshToken)
            let issuer = fixture.issuer
            let outcomes = await withTaskGroup(of: IssuedToken?.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        try? await issuer.issue(
                            TokenRequest(
                                grantType: "refresh_token", clientID: "web", clientSecret: "secret-web-0123456789",
                                refreshToken: refreshToken))
                    }
                }
                return await group.reduce(into: [IssuedToken?]()) { $0.append($1) }
            }
            let winners = outcomes.compactMap { $0 }
            #expect(winners.count == 1)
            // The losers presented a used token: the whole family is revoked, the winner's new token included.
            let next = try #require(winners.first?.refreshToken)
            await #expect(throws: OAuthError.self) {
                try await issuer.issue(
                    TokenRequest(
                        grantType: "refresh_token", clientID: "web", clientSecret: "secret-web-0123456789",
                        refreshToken: next))
            }
        }
    }

    @Test("a client is a login client or a service client, never both; a login client has no roles of its own")
    func clientKinds() async throws {
        try await withIssuer { fixture in
            await #expect(throws: IdentityError.self) {
                try await fixture.directory.createClient(
                    clientID: "mixed", secret: "secret-mixed-0123456789", name: "Mixed", tenantID: "platform",
                    roles: ["admin"], grantTypes: ["password", "client_credentials"], firstParty: true)
            }
            let roles = await #expect(throws: IdentityError.self) {
                try await fixture.directory.createClient(
                    clientID: "web", secret: "secret-web-0123456789", name: "Web", tenantID: "platform",
                    roles: ["admin"], grantTypes: ["password", "refresh_token"], firstParty: true)
            }
            #expect(
                roles
                    == .unprocessable(
                        field: "roles", problem: "a login client has no roles of its own: its tokens carry the user's"))
            await #expect(throws: IdentityError.self) {
                try await fixture.directory.createClient(
                    clientID: "roleless", secret: "secret-roleless-0123456789", name: "No roles",
                    tenantID: "platform", roles: [], grantTypes: ["client_credentials"], firstParty: false)
            }
        }
    }

    @Test("a client stored mixing both kinds gets no token until start-up separates it into a login client")
    func legacyMixedClient() async throws {
        try await withIssuer { fixture in
            try await fixture.directory.store.transaction { database in
                try await database.raw(
                    """
                    INSERT INTO oauth_clients (public_id, client_id, secret_hash, name, tenant_id, roles, grant_types,
                    first_party, enabled, created_at) VALUES ('legacy-id', 'legacy', \(bind: Secrets.hash("legacy-secret-0123")),
                    'Legacy', 'platform', 'admin', 'password refresh_token client_credentials', TRUE, TRUE,
                    '2026-01-01T00:00:00.000Z')
                    """
                ).run()
            }
            _ = try await fixture.directory.createUser(
                tenantID: "platform", email: "ana@example.com", name: "Ana", password: "a long password 123",
                roles: ["viewer"], caller: nil)
            let service = TokenRequest(
                grantType: "client_credentials", clientID: "legacy", clientSecret: "legacy-secret-0123")
            let login = TokenRequest(
                grantType: "password", clientID: "legacy", clientSecret: "legacy-secret-0123",
                username: "ana@example.com", password: "a long password 123")
            await #expect(throws: OAuthError.self) { try await fixture.issuer.issue(service) }
            await #expect(throws: OAuthError.self) { try await fixture.issuer.issue(login) }

            #expect(try await fixture.directory.mixedClientIDs() == ["legacy"])
            try await fixture.directory.separateKinds(clientID: "legacy")
            #expect(try await fixture.directory.mixedClientIDs() == [])
            let error = await #expect(throws: OAuthError.self) { try await fixture.issuer.issue(service) }
            #expect(error?.code == "unauthorized_client")
            // Signed in as the user, with the user's role: the client's former admin role is gone.
            let token = try await fixture.issuer.issue(login)
            #expect(try await fixture.verifier.verify(token.accessToken).roles == ["viewer"])
        }
    }

    @Test("an email is one user across tenants")
    func globalEmail() async throws {
        try await withIssuer { fixture in
            let other = "0e0e0e0e-0000-4000-8000-000000000001"
            _ = try await fixture.directory.createUser(
                tenantID: "platform", email: "chefe@example.com", name: "Chefe", password: "a long password 123",
                roles: ["admin"], caller: nil)
            await #expect(throws: IdentityError.conflict("this email is already registered")) {
                try await fixture.directory.createUser(
                    tenantID: other, email: "CHEFE@example.com", name: "Impostor", password: "another password 1",
                    roles: ["admin"], caller: nil)
            }
        }
    }

    @Test("every failed login gets the same answer: unknown email, wrong password, another tenant's user")
    func genericLoginFailure() async throws {
        try await withIssuer { fixture in
            let tenant = "0e0e0e0e-0000-4000-8000-000000000002"
            _ = try await fixture.directory.createClient(
                clientID: "tenant-web", secret: "secret-tenant-web-0123", name: "Tenant web", tenantID: tenant,
                roles: [], grantTypes: ["password"], firstParty: true)
            _ = try await fixture.directory.createUser(
                tenantID: "platform", email: "ana@example.com", name: "Ana", password: "a long password 123",
                roles: ["viewer"], caller: nil)
            func login(_ username: String, _ password: String) async -> OAuthError? {
                await #expect(throws: OAuthError.self) {
                    try await fixture.issuer.issue(
                        TokenRequest(
                            grantType: "password", clientID: "tenant-web", clientSecret: "secret-tenant-web-0123",
                            username: username, password: password))
                }
            }
            let unknown = await login("nobody@example.com", "a long password 123")
            let otherTenant = await login("ana@example.com", "a long password 123")
            #expect(unknown != nil)
            #expect(unknown == otherTenant)
            #expect(unknown?.code == "invalid_grant")
        }
    }

    @Test(
        "failed logins wait longer and longer, then lock the account (registered or not, answered alike)",
        arguments: StoreKind.available)
    func throttled(_ kind: StoreKind) async throws {
        try await withIssuer(kind) { fixture in
            var issuer = fixture.issuer
            // The throttle's clock moves only when the test moves it: a slow machine's pauses do not age the delays.
            let clock = ManualClock()
            issuer.throttle = LoginThrottle(
                policy: LoginPolicy(delayAfter: 2, lockoutAfter: 3, lockoutSeconds: 600, addressDelayAfter: 1_000),
                clock: clock.now)
            _ = try await fixture.directory.createClient(
                clientID: "web", secret: "secret-web-0123456789", name: "Web", tenantID: "platform", roles: [],
                grantTypes: ["password"], firstParty: true)
            _ = try await fixture.directory.createUser(
                tenantID: "platform", email: "ana@example.com", name: "Ana", password: "a long password 123",
                roles: ["viewer"], caller: nil)
            var answers: [String: [String]] = [:]
            for username in ["ana@example.com", "nobody@example.com"] {
                let wrong = TokenRequest(
                    grantType: "password", clientID: "web", clientSecret: "secret-web-0123456789",
                    username: username, password: "a wrong guess 000")
                for _ in 0..<2 {
                    let error = await #expect(throws: OAuthError.self) { try await issuer.issue(wrong) }
                    answers[username, default: []].append(error?.code ?? "")
                }
                // The second failure makes the next attempt wait a second, before any password is checked.
                let early = await #expect(throws: OAuthError.self) { try await issuer.issue(wrong) }
                #expect(early?.code == "slow_down" && early?.retryAfter == 1 && early?.lockout == false)
                clock.advance(1.1)
                let third = await #expect(throws: OAuthError.self) { try await issuer.issue(wrong) }
                answers[username, default: []].append(third?.code ?? "")
                // The third locks the account: even the right password waits out the lockout.
                var right = wrong
                right.password = "a long password 123"
                let locked = await #expect(throws: OAuthError.self) { try await issuer.issue(right) }
                #expect(locked?.lockout == true && (locked?.retryAfter ?? 0) > 590)
                answers[username, default: []].append(locked?.reason ?? "")
            }
            #expect(answers["ana@example.com"] == answers["nobody@example.com"])
            #expect(answers["ana@example.com"]?.prefix(3) == ["invalid_grant", "invalid_grant", "invalid_grant"])
            let user = try #require(try await fixture.directory.users(email: "ana@example.com").first?.0)
            _ = try await fixture.directory.unlock(user.publicID, in: nil, caller: UserManagementTests.admin)
            let released = try await issuer.issue(
                TokenRequest(
                    grantType: "password", clientID: "web", clientSecret: "secret-web-0123456789",
                    username: "ana@example.com", password: "a long password 123"))
            #expect(!released.accessToken.isEmpty)
        }
    }

    @Test("an address that failed too often waits, growing, whichever accounts it tries; others do not")
    func addressDelays() {
        let throttle = LoginThrottle(policy: LoginPolicy(addressDelayAfter: 3))
        for second in 0..<3 {
            #expect(throttle.wait(address: "192.0.2.1", now: Double(second)) == nil)
            throttle.failed(address: "192.0.2.1", now: Double(second))
        }
        #expect(throttle.wait(address: "192.0.2.1", now: 2) == 1)
        #expect(throttle.wait(address: "192.0.2.2", now: 2) == nil)
        throttle.failed(address: "192.0.2.1", now: 3.5)
        #expect(throttle.wait(address: "192.0.2.1", now: 3.5) == 2)
        #expect(throttle.wait(address: "192.0.2.1", now: 5.6) == nil)
        // Forgotten after a quiet quarter of an hour.
        throttle.failed(address: "192.0.2.1", now: 6)
        #expect(throttle.wait(address: "192.0.2.1", now: 7) != nil)
        throttle.failed(address: "192.0.2.1", now: 2_000)
        #expect(throttle.wait(address: "192.0.2.1", now: 2_000) == nil)
    }

    @Test("the password policy: 12 characters, not the email, not a common password, enough distinct characters")
    func passwordPolicy() {
        for (password, weakness) in [
            ("Password2026!", "is a common password"), ("password1234", "is a common password"),
            ("qwertyuiop123", "is a common password"), ("Flamengo@2026", "is a common password"),
            ("ana@example.com", "must not be the email address"), ("ANA@EXAMPLE.COM1", "must not be the email address"),
            ("aaaaaaaaaaaa", "has too few distinct characters"), ("121212121212", "has too few distinct characters"),
        ] {
            #expect(CommonPasswords.weakness(of: password, email: "ana@example.com") == weakness, "\(password)")
        }
        for password in ["correct horse battery", "a long password 123", "Vw9#kq2!Lz7p"] {
            #expect(CommonPasswords.weakness(of: password, email: "ana@example.com") == nil, "\(password)")
        }
        #expect(CommonPasswords.words.count > 30_000)
    }

    @Test(
        "authorization code over each store: sign in, one exchange with the verifier, reuse revokes, the session signs in again until it ends",
        arguments: StoreKind.available)
    func authorizationCode(_ kind: StoreKind) async throws {
        try await withIssuer(kind) { fixture in
            let issuer = fixture.issuer
            _ = try await fixture.directory.createClient(
                clientID: "spa", secret: "", name: "SPA", tenantID: "platform", roles: [],
                grantTypes: ["authorization_code", "refresh_token"], firstParty: false,
                redirectURIs: ["http://127.0.0.1/cb"], publicClient: true)
            _ = try await fixture.directory.createUser(
                tenantID: "platform", email: "ana@example.com", name: "Ana", password: "a long password 123",
                roles: ["viewer"], caller: nil)
            let verifier = Secrets.random(bytes: 40)
            let parameters = Bizretail_Identity_V1_AuthorizationParameters.with {
                $0.responseType = "code"
                $0.clientID = "spa"
                $0.redirectUri = "http://127.0.0.1/cb"
                $0.state = "s-1"
                $0.nonce = "n-1"
                $0.codeChallenge = TokenIssuer.challenge(of: verifier)
                $0.codeChallengeMethod = "S256"
                $0.scope = "openid email"
            }
            guard case .signIn = try await issuer.authorize(parameters, session: "") else {
                Issue.record("no session, yet no login form")
                return
            }
            let (location, session) = try await issuer.signIn(
                parameters, email: "ana@example.com", password: "a long password 123")
            let code = try #require(URLComponents(string: location)?.queryItems?.first { $0.name == "code" }?.value)
            let exchange = TokenRequest(
                grantType: "authorization_code", clientID: "spa", clientSecret: "", code: code,
                redirectURI: "http://127.0.0.1/cb", codeVerifier: verifier)
            let tokens = try await issuer.issue(exchange)
            #expect(tokens.idToken != nil)
            let reused = await #expect(throws: OAuthError.self) { try await issuer.issue(exchange) }
            #expect(reused?.code == "invalid_grant")
            let refresh = TokenRequest(
                grantType: "refresh_token", clientID: "spa", clientSecret: "", refreshToken: tokens.refreshToken!)
            let revoked = await #expect(throws: OAuthError.self) { try await issuer.issue(refresh) }
            #expect(revoked?.code == "invalid_grant")

            // The session answers the next request with a code, until it ends.
            let sso = try await issuer.authorize(parameters, session: try #require(session))
            guard case .redirect(let next) = sso else {
                Issue.record("the session did not sign in")
                return
            }
            #expect(next.contains("code="))
            _ = try await issuer.endSession(.with { $0.session = session! })
            guard case .signIn = try await issuer.authorize(parameters, session: session!) else {
                Issue.record("an ended session still signs in")
                return
            }
        }
    }
}

/// Seconds since 1970 that move only when a test moves them.
final class ManualClock: Sendable {
    private let seconds = Mutex(Date().timeIntervalSince1970)

    func now() -> TimeInterval { seconds.withLock { $0 } }

    func advance(_ interval: TimeInterval) { seconds.withLock { $0 += interval } }
}
