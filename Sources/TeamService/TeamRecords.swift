import BizEvents
import BizOutbox
import BizStorage
import SQLKit

/// A team, as stored and as its events carry it.
public struct TeamRecord: Sendable, Hashable {
    public var id: Int64
    public var publicID: String
    public var tenantID: String
    public var name: String
    public var description: String
    /// One of the tenant's cost centers (checked with the Cost Center service when set).
    public var costCenterID: String?
    public var enabled: Bool
    public var version: Int64
    public var createdAt: String
    public var updatedAt: String

    var payload: [String: JSONValue] {
        [
            "id": .integer(id), "public_id": .string(publicID), "tenant_id": .string(tenantID), "name": .string(name),
            "description": .string(description), "cost_center_id": costCenterID.map(JSONValue.string) ?? .null,
            "enabled": .bool(enabled), "version": .integer(version), "created_at": .string(createdAt),
            "updated_at": .string(updatedAt),
        ]
    }

    static let columns =
        "id, public_id, tenant_id, name, description, cost_center_id, enabled, version, created_at, updated_at"

    init(
        id: Int64, publicID: String, tenantID: String, name: String, description: String, costCenterID: String?,
        enabled: Bool, version: Int64, createdAt: String, updatedAt: String
    ) {
        self.id = id
        self.publicID = publicID
        self.tenantID = tenantID
        self.name = name
        self.description = description
        self.costCenterID = costCenterID
        self.enabled = enabled
        self.version = version
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    init(row: any SQLRow) throws {
        self.init(
            id: try row.decode(column: "id", as: Int64.self),
            publicID: try row.decode(column: "public_id", as: String.self),
            tenantID: try row.decode(column: "tenant_id", as: String.self),
            name: try row.decode(column: "name", as: String.self),
            description: try row.decode(column: "description", as: String.self),
            costCenterID: try row.decode(column: "cost_center_id", as: String?.self),
            enabled: try row.decode(column: "enabled", as: Bool.self),
            version: try row.decode(column: "version", as: Int64.self),
            createdAt: try row.decode(column: "created_at", as: String.self),
            updatedAt: try row.decode(column: "updated_at", as: String.self)
        )
    }
}

/// An account (a person), as stored and as its events carry it (the brief's `account.*` shape).
public struct AccountRecord: Sendable, Hashable {
    public var id: Int64
    public var publicID: String
    public var tenantID: String
    public var name: String
    public var documentRegistry: String
    public var email: String
    public var teamIDs: [String]
    public var enabled: Bool
    public var version: Int64
    /// The data subject's id: stable for the person (derived from the CPF with a secret key).
    public var ownershipID: String
    public var createdAt: String
    public var updatedAt: String

    var payload: [String: JSONValue] {
        [
            "id": .integer(id), "public_id": .string(publicID), "tenant_id": .string(tenantID), "name": .string(name),
            "document_registry": .string(documentRegistry), "email": .string(email),
            "team_ids": .array(teamIDs.map(JSONValue.string)), "enabled": .bool(enabled), "version": .integer(version),
            "created_at": .string(createdAt), "updated_at": .string(updatedAt),
        ]
    }

    static let columns = """
        id, public_id, tenant_id, name, document_registry, email, enabled, version, ownership_id, created_at, updated_at
        """

    init(row: any SQLRow, teamIDs: [String]) throws {
        id = try row.decode(column: "id", as: Int64.self)
        publicID = try row.decode(column: "public_id", as: String.self)
        tenantID = try row.decode(column: "tenant_id", as: String.self)
        name = try row.decode(column: "name", as: String.self)
        documentRegistry = try row.decode(column: "document_registry", as: String.self)
        email = try row.decode(column: "email", as: String.self)
        self.teamIDs = teamIDs
        enabled = try row.decode(column: "enabled", as: Bool.self)
        version = try row.decode(column: "version", as: Int64.self)
        ownershipID = try row.decode(column: "ownership_id", as: String.self)
        createdAt = try row.decode(column: "created_at", as: String.self)
        updatedAt = try row.decode(column: "updated_at", as: String.self)
    }
}

public enum TeamSchema {
    public static let migrations: [Migration] =
        Outbox.migrations + [
            Migration(id: "team.1.create") { flavor in
                [
                    """
                    CREATE TABLE teams (
                        id \(flavor.autoIncrementPrimaryKey),
                        public_id TEXT NOT NULL UNIQUE,
                        tenant_id TEXT NOT NULL,
                        name TEXT NOT NULL,
                        description TEXT NOT NULL,
                        enabled BOOLEAN NOT NULL,
                        version BIGINT NOT NULL,
                        created_at TEXT NOT NULL,
                        updated_at TEXT NOT NULL,
                        deleted_at TEXT)
                    """,
                    "CREATE INDEX teams_tenant ON teams (tenant_id, id)",
                    """
                    CREATE TABLE accounts (
                        id \(flavor.autoIncrementPrimaryKey),
                        public_id TEXT NOT NULL UNIQUE,
                        tenant_id TEXT NOT NULL,
                        name TEXT NOT NULL,
                        document_registry TEXT NOT NULL,
                        email TEXT NOT NULL,
                        enabled BOOLEAN NOT NULL,
                        version BIGINT NOT NULL,
                        ownership_id TEXT NOT NULL,
                        created_at TEXT NOT NULL,
                        updated_at TEXT NOT NULL,
                        deleted_at TEXT)
                    """,
                    "CREATE INDEX accounts_tenant ON accounts (tenant_id, id)",
                    "CREATE UNIQUE INDEX accounts_email ON accounts (tenant_id, email) WHERE deleted_at IS NULL",
                    """
                    CREATE TABLE account_teams (
                        account_id BIGINT NOT NULL,
                        team_public_id TEXT NOT NULL,
                        PRIMARY KEY (account_id, team_public_id))
                    """,
                    "CREATE INDEX account_teams_team ON account_teams (team_public_id, account_id)",
                ]
            },
            Migration(id: "team.2.cost_center") { _ in ["ALTER TABLE teams ADD COLUMN cost_center_id TEXT"] },
        ]
}
