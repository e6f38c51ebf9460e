import BizAuth
import BizEvents
import BizOutbox
import BizServiceKit
import BizStorage
import BizTesting
import Foundation
import Logging
import Testing

@testable import IdentityService

/// The first start's administrator and login client, over a temporary SQLite database: their generated credentials
/// are written before they are stored, so a first start stopped half-way is finished by the next one.
@Suite("Identity bootstrap")
struct BootstrapTests {
    struct Fixture {
        var directory: IdentityDirectory
        var issuer: TokenIssuer
        var bootstrap: IdentityBootstrap
        var file: URL
    }

    func withBootstrap(_ body: (Fixture) async throws -> Void) async throws {
        try await withTemporaryDirectory { path in
            try await TestDatabases.withStore(.sqlite, migrations: IdentityModule.migrations) { store in
                let directory = IdentityDirectory(
                    outbox: Outbox(store: store),
                    events: EventFactory(
                        producerService: "identity_service", producerServiceID: EventID.generate(),
                        environment: "test", serviceOwnerID: ServiceAccount.publicID(of: "identity")),
                    bcryptCost: 4)
                let issuer = TokenIssuer(
                    directory: directory, keys: SigningKeyStore(store: store, masterKey: .generate()),
                    issuer: "https://issuer.test", audience: PlatformConfiguration.audience)
                let data = URL(fileURLWithPath: path)
                try await body(
                    Fixture(
                        directory: directory, issuer: issuer,
                        bootstrap: IdentityBootstrap(
                            directory: directory, dataDirectory: data, logger: Logger(label: "test.bootstrap")),
                        file: data.appendingPathComponent("bootstrap-credentials.json")))
            }
        }
    }

    /// What a first start stopped half-way leaves: its credentials, pending.
    static func planned() -> BootstrapFile {
        BootstrapFile(
            adminEmail: "admin@biz-retail.local", adminPassword: "planned password 0123456789",
            adminID: EventID.generate(), clientID: "biz-retail-cli", clientSecret: "planned-secret-0123456789",
            pending: true)
    }

    /// Signs in with the password grant through the file's login client.
    func signIn(_ fixture: Fixture, _ credentials: BootstrapFile) async throws -> String {
        try await fixture.issuer.issue(
            TokenRequest(
                grantType: "password", clientID: credentials.clientID, clientSecret: credentials.clientSecret,
                username: credentials.adminEmail, password: credentials.adminPassword)
        ).accessToken
    }

    @Test("a first start writes the credentials it stored, no longer pending; the next start changes nothing")
    func firstStart() async throws {
        try await withBootstrap { fixture in
            try await fixture.bootstrap.run(.init())
            let written = try #require(BootstrapFile.read(fixture.file))
            #expect(written.pending == nil)
            #expect(try await fixture.directory.user(publicID: written.adminID)?.email == written.adminEmail)
            _ = try await signIn(fixture, written)

            try await fixture.bootstrap.run(.init())
            #expect(BootstrapFile.read(fixture.file) == written)
            #expect(try await fixture.directory.userCount() == 1)
        }
    }

    @Test("stopped after the administrator was stored: the next start stores the login client of the file")
    func stoppedAfterTheUser() async throws {
        try await withBootstrap { fixture in
            let planned = Self.planned()
            try planned.write(to: fixture.file)
            _ = try await fixture.directory.createUser(
                tenantID: "platform", email: planned.adminEmail, name: "Platform administrator",
                password: planned.adminPassword, roles: ["admin"], caller: nil, publicID: planned.adminID)

            try await fixture.bootstrap.run(.init())
            var finished = planned
            finished.pending = nil
            #expect(BootstrapFile.read(fixture.file) == finished)
            #expect(try await fixture.directory.userCount() == 1)
            _ = try await signIn(fixture, finished)
        }
    }

    @Test("stopped before anything was stored: the next start stores the file's credentials, not new ones")
    func stoppedBeforeTheUser() async throws {
        try await withBootstrap { fixture in
            let planned = Self.planned()
            try planned.write(to: fixture.file)

            try await fixture.bootstrap.run(.init())
            var finished = planned
            finished.pending = nil
            #expect(BootstrapFile.read(fixture.file) == finished)
            #expect(try await fixture.directory.user(publicID: planned.adminID) != nil)
            _ = try await signIn(fixture, finished)
        }
    }

    @Test("a pending file naming an administrator that is not the stored one (a replica bootstrapped first) is removed")
    func anotherReplicaFirst() async throws {
        try await withBootstrap { fixture in
            _ = try await fixture.directory.createUser(
                tenantID: "platform", email: "other@biz-retail.local", name: "Another replica's administrator",
                password: "another password 0123456789", roles: ["admin"], caller: nil)
            try Self.planned().write(to: fixture.file)

            try await fixture.bootstrap.run(.init())
            #expect(!FileManager.default.fileExists(atPath: fixture.file.path))
            #expect(try await fixture.directory.userCount() == 1)
            #expect(try await fixture.directory.client(id: "biz-retail-cli") == nil)
        }
    }
}
