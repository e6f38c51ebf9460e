import BizAuth
import BizEvents
import BizOutbox
import BizServiceKit
import BizStorage
import Foundation
import SQLKit

/// Teams and accounts of each tenant. Every change writes the row and its event (with the entity's full state) in
/// one transaction; a delete keeps the row, hides it from reads and emits `*.deleted`.
public struct TeamDirectory: Sendable {
    public var outbox: Outbox
    public var events: EventFactory
    /// Derives an account's `ownership_id` from its CPF (the id cannot be reversed to the CPF).
    public var subjects: SubjectIDs

    public init(outbox: Outbox, events: EventFactory, subjects: SubjectIDs) {
        self.outbox = outbox
        self.events = events
        self.subjects = subjects
    }

    var store: any SQLStore { outbox.store }

    // MARK: Teams

    /// `costCenterID` must already be known to be one of the tenant's (``TeamGRPCService`` asks the Cost Center
    /// service).
    public func createTeam(name: String, description: String, costCenterID: String? = nil, caller: Caller)
        async throws -> TeamRecord
    {
        let name = try Self.requiredText(name, field: "name")
        let description = try Self.description(description)
        let now = EventTimestamp.now().rfc3339
        let publicID = EventID.generate()
        let tenant = caller.principal.tenantID
        return try await outbox.perform { database in
            let row = try await database.raw(
                """
                INSERT INTO teams (public_id, tenant_id, name, description, cost_center_id, enabled, version, created_at,
                updated_at) VALUES (\(bind: publicID), \(bind: tenant), \(bind: name), \(bind: description),
                \(bind: costCenterID), TRUE, 1, \(bind: now), \(bind: now)) RETURNING \(unsafeRaw: TeamRecord.columns)
                """
            ).first()
            let team = try TeamRecord(row: row!)
            return (
                team, [events.event(.team(.created), payload: team.payload, ownershipID: team.publicID, caller: caller)]
            )
        }
    }

    public func team(_ publicID: String, tenantID: String) async throws -> TeamRecord {
        let row = try await store.read { database in
            try await database.raw(
                """
                SELECT \(unsafeRaw: TeamRecord.columns) FROM teams
                WHERE public_id = \(bind: publicID) AND tenant_id = \(bind: tenantID) AND deleted_at IS NULL
                """
            ).first()
        }
        guard let row else { throw TeamError.notFound("team") }
        return try TeamRecord(row: row)
    }

    public func teams(tenantID: String, after: Int64?, limit: Int) async throws -> [TeamRecord] {
        try await store.read { database in
            try await database.raw(
                """
                SELECT \(unsafeRaw: TeamRecord.columns) FROM teams
                WHERE tenant_id = \(bind: tenantID) AND deleted_at IS NULL AND id > \(bind: after ?? 0)
                ORDER BY id LIMIT \(bind: limit)
                """
            ).all().map(TeamRecord.init(row:))
        }
    }

    public enum Change: Sendable {
        /// A `costCenterID` of `""` removes the cost center.
        case update(name: String?, description: String?, costCenterID: String? = nil)
        case enable(Bool)
        case delete
    }

    /// Applies a change to a team; returns its new state.
    @discardableResult
    public func changeTeam(_ publicID: String, _ change: Change, expectedVersion: Int64? = nil, caller: Caller)
        async throws -> TeamRecord
    {
        let change = try Self.validated(change)
        let tenant = caller.principal.tenantID
        let now = EventTimestamp.now().rfc3339
        return try await outbox.perform { database in
            guard
                let row = try await database.raw(
                    """
                    SELECT \(unsafeRaw: TeamRecord.columns) FROM teams
                    WHERE public_id = \(bind: publicID) AND tenant_id = \(bind: tenant) AND deleted_at IS NULL
                    """
                ).first()
            else { throw TeamError.notFound("team") }
            var team = try TeamRecord(row: row)
            if let expectedVersion, expectedVersion != team.version {
                throw TeamError.versionMismatch(current: team.version)
            }
            let verb: EventVerb
            switch change {
            case .update(let name, let description, let costCenterID):
                team.name = name ?? team.name
                team.description = description ?? team.description
                if let costCenterID { team.costCenterID = costCenterID.isEmpty ? nil : costCenterID }
                verb = .updated
            case .enable(let enabled):
                team.enabled = enabled
                verb = enabled ? .enabled : .disabled
            case .delete:
                verb = .deleted
            }
            team.version += 1
            team.updatedAt = now
            try await database.raw(
                """
                UPDATE teams SET name = \(bind: team.name), description = \(bind: team.description),
                cost_center_id = \(bind: team.costCenterID), enabled = \(bind: team.enabled), version = \(bind: team.version), updated_at = \(bind: now),
                deleted_at = \(bind: verb == .deleted ? now : nil) WHERE id = \(bind: team.id)
                """
            ).run()
            let event = events.event(.team(verb), payload: team.payload, ownershipID: team.publicID, caller: caller)
            return (team, [event])
        }
    }

    // MARK: Accounts

    public struct AccountInput: Sendable {
        public var name: String?
        public var documentRegistry: String?
        public var email: String?
        public var teamIDs: [String]?

        public init(
            name: String? = nil, documentRegistry: String? = nil, email: String? = nil, teamIDs: [String]? = nil
        ) {
            self.name = name
            self.documentRegistry = documentRegistry
            self.email = email
            self.teamIDs = teamIDs
        }
    }

    public func createAccount(_ input: AccountInput, caller: Caller) async throws -> AccountRecord {
        let name = try Self.requiredText(input.name ?? "", field: "name")
        let document = try Self.cpf(input.documentRegistry ?? "")
        let email = try Self.email(input.email ?? "")
        let teamIDs = try Self.teamIDs(input.teamIDs ?? [])
        let tenant = caller.principal.tenantID
        let now = EventTimestamp.now().rfc3339
        let publicID = EventID.generate()
        let ownershipID = subjects.person(cpf: document)
        do {
            return try await outbox.perform { database in
                try await Self.requireTeams(teamIDs, tenant: tenant, on: database)
                let row = try await database.raw(
                    """
                    INSERT INTO accounts (public_id, tenant_id, name, document_registry, email, enabled, version,
                    ownership_id, created_at, updated_at) VALUES (\(bind: publicID), \(bind: tenant), \(bind: name),
                    \(bind: document), \(bind: email), TRUE, 1, \(bind: ownershipID), \(bind: now), \(bind: now))
                    RETURNING \(unsafeRaw: AccountRecord.columns)
                    """
                ).first()
                let account = try AccountRecord(row: row!, teamIDs: teamIDs)
                try await Self.setTeams(teamIDs, of: account.id, on: database)
                let event = events.event(
                    .account(.created), payload: account.payload, ownershipID: account.ownershipID, caller: caller
                )
                return (account, [event])
            }
        } catch let error as StorageError where error.code == .constraint {
            throw TeamError.conflict(field: "email", problem: "is already used by another account of the tenant")
        }
    }

    public func account(_ publicID: String, tenantID: String) async throws -> AccountRecord {
        let account = try await store.read { database in
            try await Self.loadAccount(publicID, tenant: tenantID, on: database)
        }
        guard let account else { throw TeamError.notFound("account") }
        return account
    }

    public func accounts(tenantID: String, teamID: String?, after: Int64?, limit: Int) async throws -> [AccountRecord] {
        try await store.read { database in
            let membership: SQLQueryString =
                teamID.map {
                    "AND id IN (SELECT account_id FROM account_teams WHERE team_public_id = \(bind: $0))"
                } ?? ""
            let rows = try await database.raw(
                """
                SELECT \(unsafeRaw: AccountRecord.columns) FROM accounts
                WHERE tenant_id = \(bind: tenantID) AND deleted_at IS NULL AND id > \(bind: after ?? 0)
                """ + " " + membership + " ORDER BY id LIMIT \(bind: limit)"
            ).all()
            let ids = try rows.map { try $0.decode(column: "id", as: Int64.self) }
            let memberships = try await Self.teams(of: ids, on: database)
            return try zip(rows, ids).map { row, id in try AccountRecord(row: row, teamIDs: memberships[id] ?? []) }
        }
    }

    @discardableResult
    public func changeAccount(
        _ publicID: String, update: AccountInput? = nil, enabled: Bool? = nil, delete: Bool = false,
        expectedVersion: Int64? = nil, caller: Caller
    ) async throws -> AccountRecord {
        let name = try update?.name.map { try Self.requiredText($0, field: "name") }
        let document = try update?.documentRegistry.map(Self.cpf)
        let email = try update?.email.map(Self.email)
        let teamIDs = try update?.teamIDs.map(Self.teamIDs)
        let tenant = caller.principal.tenantID
        let now = EventTimestamp.now().rfc3339
        do {
            return try await outbox.perform { database in
                guard var account = try await Self.loadAccount(publicID, tenant: tenant, on: database) else {
                    throw TeamError.notFound("account")
                }
                if let expectedVersion, expectedVersion != account.version {
                    throw TeamError.versionMismatch(current: account.version)
                }
                let verb: EventVerb
                if delete {
                    verb = .deleted
                } else if let enabled {
                    account.enabled = enabled
                    verb = enabled ? .enabled : .disabled
                } else {
                    account.name = name ?? account.name
                    if let document {
                        account.documentRegistry = document
                        account.ownershipID = subjects.person(cpf: document)
                    }
                    account.email = email ?? account.email
                    if let teamIDs {
                        try await Self.requireTeams(teamIDs, tenant: tenant, on: database)
                        try await Self.setTeams(teamIDs, of: account.id, on: database)
                        account.teamIDs = teamIDs
                    }
                    verb = .updated
                }
                account.version += 1
                account.updatedAt = now
                try await database.raw(
                    """
                    UPDATE accounts SET name = \(bind: account.name), document_registry = \(bind: account.documentRegistry),
                    email = \(bind: account.email), enabled = \(bind: account.enabled), version = \(bind: account.version),
                    ownership_id = \(bind: account.ownershipID), updated_at = \(bind: now),
                    deleted_at = \(bind: delete ? now : nil) WHERE id = \(bind: account.id)
                    """
                ).run()
                let event = events.event(
                    .account(verb), payload: account.payload, ownershipID: account.ownershipID, caller: caller
                )
                return (account, [event])
            }
        } catch let error as StorageError where error.code == .constraint {
            throw TeamError.conflict(field: "email", problem: "is already used by another account of the tenant")
        }
    }

    /// One statement: the account's columns on every row, one row per team (a LEFT JOIN, so none is needed).
    static func loadAccount(_ publicID: String, tenant: String, on database: any SQLDatabase) async throws
        -> AccountRecord?
    {
        let rows = try await database.raw(
            """
            SELECT \(unsafeRaw: AccountRecord.columns), team_public_id FROM accounts
            LEFT JOIN account_teams ON account_teams.account_id = accounts.id
            WHERE public_id = \(bind: publicID) AND tenant_id = \(bind: tenant) AND deleted_at IS NULL
            ORDER BY team_public_id
            """
        ).all()
        guard let first = rows.first else { return nil }
        let teamIDs = try rows.compactMap { try $0.decode(column: "team_public_id", as: String?.self) }
        return try AccountRecord(row: first, teamIDs: teamIDs)
    }

    /// The teams of several accounts in one query (a list page costs two statements, not one per account).
    static func teams(of accountIDs: [Int64], on database: any SQLDatabase) async throws -> [Int64: [String]] {
        guard !accountIDs.isEmpty else { return [:] }
        var teams: [Int64: [String]] = [:]
        let rows = try await database.raw(
            """
            SELECT account_id, team_public_id FROM account_teams WHERE account_id IN (\(binds: accountIDs))
            ORDER BY account_id, team_public_id
            """
        ).all()
        for row in rows {
            teams[try row.decode(column: "account_id", as: Int64.self), default: []]
                .append(try row.decode(column: "team_public_id", as: String.self))
        }
        return teams
    }

    static func setTeams(_ teamIDs: [String], of accountID: Int64, on database: any SQLDatabase) async throws {
        try await database.raw("DELETE FROM account_teams WHERE account_id = \(bind: accountID)").run()
        for teamID in Set(teamIDs) {
            try await database.raw(
                "INSERT INTO account_teams (account_id, team_public_id) VALUES (\(bind: accountID), \(bind: teamID))"
            ).run()
        }
    }

    static func requireTeams(_ teamIDs: [String], tenant: String, on database: any SQLDatabase) async throws {
        let unique = Array(Set(teamIDs))
        guard !unique.isEmpty else { return }
        let found = try await database.raw(
            """
            SELECT COUNT(*) AS n FROM teams WHERE tenant_id = \(bind: tenant) AND deleted_at IS NULL
            AND public_id IN (\(binds: unique))
            """
        ).first()!.decode(column: "n", as: Int.self)
        guard found == unique.count else {
            throw TeamError.unprocessable(field: "team_ids", problem: "names a team that does not exist")
        }
    }

    static func requiredText(_ text: String, field: String, limit: Int = FieldLimits.nameBytes) throws -> String {
        try TextInput.required(text, field: field, limit: limit)
    }

    /// The change with its name trimmed and its fields checked against their limits.
    static func validated(_ change: Change) throws -> Change {
        guard case .update(let name, let description, let costCenterID) = change else { return change }
        return .update(
            name: try name.map { try requiredText($0, field: "name") },
            description: try description.map(Self.description), costCenterID: costCenterID)
    }

    static func description(_ text: String) throws -> String {
        try FieldLimits.checked(text, field: "description", limit: FieldLimits.descriptionBytes, allowsLineBreaks: true)
    }

    /// The teams an account belongs to: de-duplicated (first occurrence kept) and bounded.
    static func teamIDs(_ ids: [String]) throws -> [String] {
        // Counted as sent, as the OpenAPI document's maxItems counts them.
        guard ids.count <= FieldLimits.teamIDs else {
            throw TeamError.invalidArgument(field: "team_ids", problem: "names more than \(FieldLimits.teamIDs) teams")
        }
        var seen: Set<String> = []
        return ids.map { $0.lowercased() }.filter { seen.insert($0).inserted }
    }

    static func cpf(_ text: String) throws -> String {
        guard !text.isEmpty else { throw TeamError.invalidArgument(field: "document_registry", problem: "is required") }
        guard let cpf = CPF.normalize(text) else {
            throw TeamError.unprocessable(field: "document_registry", problem: "is not a valid CPF")
        }
        return cpf
    }

    static func email(_ text: String) throws -> String {
        guard !text.isEmpty else {
            throw TeamError.invalidArgument(field: "email", problem: "is required")
        }
        guard let email = EmailAddress.normalize(text) else {
            throw TeamError.invalidArgument(field: "email", problem: "is not an email address")
        }
        return email
    }
}
