import BizAuth
import BizEvents
import BizStorage
import BizTesting
import Crypto
import Logging
import Testing

@testable import BizOutbox
@testable import TeamService

/// The Team service's domain over a temporary SQLite database: every change and its event commit together.
@Suite("Team directory")
struct TeamDirectoryTests {
    static let manager = Caller(
        principal: Principal(
            subject: "user-1", tenantID: "platform", roles: ["manager"], scopes: [], ownerType: "user", tokenID: "t1"),
        clientIP: "203.0.113.7", traceID: "4bf92f3577b34da6a3ce929d0e0e4736")

    func withDirectory<T>(_ body: (TeamDirectory) async throws -> T) async throws -> T {
        try await TestDatabases.withStore(.sqlite, migrations: TeamModule.migrations) { store in
            try await body(
                TeamDirectory(
                    outbox: Outbox(store: store),
                    events: EventFactory(
                        producerService: "team_service", producerServiceID: EventID.generate(), environment: "test",
                        serviceOwnerID: ServiceAccount.publicID(of: "team")),
                    subjects: SubjectIDs(key: SymmetricKey(size: .bits256))))
        }
    }

    func pendingEvents(_ directory: TeamDirectory) async throws -> [EventEnvelope] {
        try await directory.outbox.pending(limit: 100).map { try EventEnvelope.decode($0.message.body) }
    }

    @Test("creating a team writes team.created with the caller as owner, in the same transaction")
    func createTeam() async throws {
        try await withDirectory { directory in
            let team = try await directory.createTeam(name: " Vendas ", description: "Loja 1", caller: Self.manager)
            #expect(team.name == "Vendas")
            let events = try await pendingEvents(directory)
            #expect(events.count == 1)
            let event = try #require(events.first)
            #expect(event.eventType.description == "team.created")
            #expect(event.entityID == team.publicID)
            #expect(event.metadata.ownerID == "user-1")
            #expect(event.metadata.ownerIP == "203.0.113.7")
            #expect(event.metadata.ownerRole == "manager")
            #expect(event.traceID == Self.manager.traceID)
        }
    }

    @Test("a stale version is refused and nothing is emitted")
    func staleVersion() async throws {
        try await withDirectory { directory in
            let team = try await directory.createTeam(name: "Vendas", description: "", caller: Self.manager)
            await #expect(throws: TeamError.versionMismatch(current: 1)) {
                try await directory.changeTeam(
                    team.publicID, .update(name: "Outro", description: nil), expectedVersion: 7, caller: Self.manager)
            }
            #expect(try await pendingEvents(directory).count == 1)
        }
    }

    @Test("an account needs a valid CPF (422 naming the field) and an email unique in the tenant")
    func accountRules() async throws {
        try await withDirectory { directory in
            await #expect(throws: TeamError.unprocessable(field: "document_registry", problem: "is not a valid CPF")) {
                try await directory.createAccount(
                    .init(name: "Maria", documentRegistry: "11111111111", email: "m@example.com"), caller: Self.manager)
            }
            let account = try await directory.createAccount(
                .init(name: "Maria", documentRegistry: "529.982.247-25", email: "m@example.com"), caller: Self.manager)
            #expect(account.documentRegistry == "52998224725")
            await #expect(throws: TeamError.self) {
                try await directory.createAccount(
                    .init(name: "Outra", documentRegistry: "52998224725", email: "M@example.com"), caller: Self.manager)
            }
            let event = try #require(try await pendingEvents(directory).last)
            #expect(event.eventType.description == "account.created")
            #expect(event.metadata.ownershipID == account.ownershipID)
            #expect(event.metadata.ownershipID != account.publicID)
        }
    }

    @Test("the module declares every event type it emits")
    func producedEvents() async throws {
        try await withDirectory { directory in
            let team = try await directory.createTeam(name: "Vendas", description: "", caller: Self.manager)
            _ = try await directory.changeTeam(team.publicID, .enable(false), caller: Self.manager)
            _ = try await directory.changeTeam(team.publicID, .delete, caller: Self.manager)
            let types = try await pendingEvents(directory).map(\.eventType)
            #expect(types.map(\.description) == ["team.created", "team.disabled", "team.deleted"])
            #expect(types.allSatisfy(TeamModule.producedEvents.contains))
        }
    }

    @Test("free-text fields are bounded in characters and refuse control characters, on create and on update")
    func fieldLimits() async throws {
        try await withDirectory { directory in
            // Characters, as JSON Schema's maxLength counts them: 200 two-byte ones fit, 201 do not.
            _ = try await directory.createTeam(
                name: String(repeating: "é", count: 200), description: "", caller: Self.manager)
            let wideName = String(repeating: "é", count: 201)
            await #expect(throws: TeamError.invalidArgument(field: "name", problem: "is over 200 characters")) {
                try await directory.createTeam(name: wideName, description: "", caller: Self.manager)
            }
            let longDescription = String(repeating: "x", count: FieldLimits.descriptionBytes + 1)
            await #expect(throws: TeamError.invalidArgument(field: "description", problem: "is over 2000 characters")) {
                try await directory.createTeam(name: "Vendas", description: longDescription, caller: Self.manager)
            }
            await #expect(
                throws: TeamError.invalidArgument(field: "name", problem: "must not contain control characters")
            ) {
                try await directory.createTeam(name: "Ven\u{0}das", description: "", caller: Self.manager)
            }
            let team = try await directory.createTeam(
                name: "Vendas",
                description: String(repeating: "x", count: FieldLimits.descriptionBytes - 9)
                    + "\nlinha 2\t", caller: Self.manager)
            await #expect(throws: TeamError.invalidArgument(field: "description", problem: "is over 2000 characters")) {
                try await directory.changeTeam(
                    team.publicID, .update(name: nil, description: longDescription), caller: Self.manager)
            }
            await #expect(throws: TeamError.invalidArgument(field: "name", problem: "is required")) {
                try await directory.changeTeam(
                    team.publicID, .update(name: "  ", description: nil), caller: Self.manager)
            }
            // Only the two creations reached the outbox.
            #expect(try await pendingEvents(directory).count == 2)
        }
    }

    @Test("an account's team_ids are de-duplicated and bounded")
    func teamIDLimits() async throws {
        try await withDirectory { directory in
            let team = try await directory.createTeam(name: "Vendas", description: "", caller: Self.manager)
            let account = try await directory.createAccount(
                .init(
                    name: "Ana", documentRegistry: "52998224725", email: "ana@loja.example",
                    teamIDs: [team.publicID, team.publicID.uppercased(), team.publicID]),
                caller: Self.manager)
            #expect(account.teamIDs == [team.publicID])
            let tooMany = (0...FieldLimits.teamIDs).map { _ in EventID.generate() }
            await #expect(throws: TeamError.invalidArgument(field: "team_ids", problem: "names more than 100 teams")) {
                try await directory.changeAccount(
                    account.publicID, update: .init(teamIDs: tooMany), caller: Self.manager)
            }
        }
    }
}
