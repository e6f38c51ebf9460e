import BizAuth
import BizEvents
import BizServiceKit
import BizStorage
import BizTesting
import Testing

@testable import BizOutbox
@testable import IdentityService

/// Users managed by admins, over a temporary SQLite database.
@Suite("User management")
struct UserManagementTests {
    static let tenant = EventID.generate()
    static let admin = Caller(
        principal: Principal(
            subject: EventID.generate(), tenantID: tenant, roles: ["admin"], scopes: [], ownerType: "user",
            tokenID: "t1"),
        clientIP: "203.0.113.7", traceID: "4bf92f3577b34da6a3ce929d0e0e4736")

    func withDirectory<T>(_ body: (IdentityDirectory) async throws -> T) async throws -> T {
        try await TestDatabases.withStore(.sqlite, migrations: IdentityModule.migrations) { store in
            try await body(
                IdentityDirectory(
                    outbox: Outbox(store: store),
                    events: EventFactory(
                        producerService: "identity_service", producerServiceID: EventID.generate(),
                        environment: "test", serviceOwnerID: ServiceAccount.publicID(of: "identity")),
                    bcryptCost: 4))
        }
    }

    @Test("list, update with a version, disable (ending sessions), delete; another tenant's user is not found")
    func lifecycle() async throws {
        try await withDirectory { directory in
            let user = try await directory.createUser(
                tenantID: Self.tenant, email: "maria@example.com", name: "Maria", password: "uma senha longa 1",
                roles: ["manager"], caller: Self.admin)
            let page = try await directory.users(tenantID: Self.tenant, after: nil, limit: 10)
            #expect(page.map(\.user.publicID) == [user.publicID])
            await #expect(throws: ServiceError.versionMismatch(current: 1)) {
                try await directory.changeUser(
                    user.publicID, in: Self.tenant, .update(name: "M", roles: nil), expectedVersion: 5,
                    caller: Self.admin)
            }
            let updated = try await directory.changeUser(
                user.publicID, in: Self.tenant, .update(name: nil, roles: ["viewer"]), expectedVersion: 1,
                caller: Self.admin)
            #expect(updated.roles == ["viewer"] && updated.version == 2)
            await #expect(throws: IdentityError.notFound("user not found")) {
                try await directory.changeUser(
                    user.publicID, in: EventID.generate(), .enable(false), caller: Self.admin)
            }
            let disabled = try await directory.changeUser(user.publicID, in: nil, .enable(false), caller: Self.admin)
            #expect(!disabled.enabled)
            try await directory.changeUser(user.publicID, in: Self.tenant, .delete, caller: Self.admin)
            #expect(try await directory.user(publicID: user.publicID) == nil)
            let verbs = try await directory.outbox.pending(limit: 10).map {
                try EventEnvelope.decode($0.message.body).eventType.description
            }
            #expect(verbs == ["user.created", "user.updated", "user.disabled", "user.deleted"])
        }
    }
}
