import BizAuth
import BizEvents
import BizOutbox
import BizServiceKit
import BizStorage
import Foundation
import HummingbirdBcrypt
import SQLKit

/// Users and clients in the identity database; every change writes its event to the outbox in the same transaction.
public struct IdentityDirectory: Sendable {
    public var outbox: Outbox
    public var events: EventFactory
    public var bcryptCost: UInt8
    /// bcrypt, on a pool of its own.
    public let passwords: PasswordHasher

    public init(outbox: Outbox, events: EventFactory, bcryptCost: UInt8 = 12) {
        self.outbox = outbox
        self.events = events
        self.bcryptCost = bcryptCost
        self.passwords = PasswordHasher(cost: bcryptCost)
    }

    var store: any SQLStore { outbox.store }

    public func userCount() async throws -> Int {
        try await store.read { database in
            try await database.raw("SELECT COUNT(*) AS n FROM users").first()!.decode(column: "n", as: Int.self)
        }
    }

    /// Creates a user; `caller` is nil for the start-up bootstrap (a service event).
    /// `publicID`: the new user's id when the caller chose it beforehand (the first start's administrator, whose id is
    /// written to the bootstrap file before the user is stored); a new one otherwise.
    public func createUser(
        tenantID: String, email: String, name: String, password: String, roles: [String], caller: Caller?,
        publicID: String? = nil
    ) async throws -> UserRecord {
        try Roles.validateTenant(tenantID)
        guard let email = EmailAddress.normalize(email) else {
            throw IdentityError.invalidArgument(field: "email", problem: "is not an email address")
        }
        let name = try TextInput.required(name, field: "name", limit: 200)
        try Self.checkPassword(password, email: email)
        try Roles.validate(roles)
        let roles = Roles.unique(roles)
        let hash = try await passwords.hash(password)
        let now = EventTimestamp.now().rfc3339
        let user = UserRecord(
            publicID: publicID ?? EventID.generate(), tenantID: tenantID, email: email, name: name, roles: roles,
            enabled: true,
            createdAt: now, updatedAt: now
        )
        let event =
            caller.map { events.event(.user(.created), payload: user.payload, ownershipID: user.publicID, caller: $0) }
            ?? events.systemEvent(.user(.created), payload: user.payload, ownershipID: user.publicID)
        do {
            try await outbox.perform { database in
                try await database.raw(
                    """
                    INSERT INTO users (public_id, tenant_id, email, name, password_hash, roles, enabled, created_at,
                    updated_at) VALUES (\(bind: user.publicID), \(bind: tenantID), \(bind: email), \(bind: name),
                    \(bind: hash), \(bind: roles.joined(separator: " ")), TRUE, \(bind: now), \(bind: now))
                    """
                ).run()
                return ((), [event])
            }
        } catch let error as StorageError where error.code == .constraint {
            // Emails are unique across tenants: one address, one login, whatever client signs it in.
            throw IdentityError.conflict("this email is already registered")
        }
        return user
    }

    public func createClient(
        clientID: String, secret: String, name: String, tenantID: String, roles: [String], grantTypes: [String],
        firstParty: Bool, redirectURIs: [String] = [], publicClient: Bool = false, publicID: String? = nil,
        caller: Caller? = nil
    ) async throws -> ClientRecord {
        try Roles.validateTenant(tenantID)
        _ = try ClientKind.of(
            grantTypes: grantTypes, roles: roles, firstParty: firstParty, publicClient: publicClient,
            redirectURIs: redirectURIs)
        let client = ClientRecord(
            publicID: publicID ?? EventID.generate(), clientID: clientID,
            secretHash: publicClient ? "" : Secrets.hash(secret), name: name, tenantID: tenantID, roles: roles,
            grantTypes: grantTypes, firstParty: firstParty, redirectURIs: redirectURIs, enabled: true,
            createdAt: EventTimestamp.now().rfc3339
        )
        let event =
            caller.map {
                events.event(.client(.created), payload: client.payload, ownershipID: client.publicID, caller: $0)
            }
            ?? events.systemEvent(.client(.created), payload: client.payload, ownershipID: client.publicID)
        do {
            try await outbox.perform { database in
                try await database.raw(
                    """
                    INSERT INTO oauth_clients (public_id, client_id, secret_hash, name, tenant_id, roles, grant_types,
                    first_party, enabled, created_at, redirect_uris) VALUES (\(bind: client.publicID), \(bind: clientID),
                    \(bind: client.secretHash), \(bind: name), \(bind: tenantID), \(bind: roles.joined(separator: " ")),
                    \(bind: grantTypes.joined(separator: " ")), \(bind: firstParty), TRUE, \(bind: client.createdAt),
                    \(bind: redirectURIs.joined(separator: " ")))
                    """
                ).run()
                return ((), [event])
            }
        } catch let error as StorageError where error.code == .constraint {
            throw IdentityError.conflict("a client with this client_id already exists")
        }
        return client
    }

    /// Replaces a client's secret (stored hashed); emits `client.updated`, which carries no secret. With
    /// `keepingPreviousUntil` (seconds since 1970), the secret it replaces is accepted until then too.
    public func replaceClientSecret(clientID: String, secret: String, keepingPreviousUntil until: Int64? = nil)
        async throws
    {
        guard var client = try await client(id: clientID) else {
            throw IdentityError.notFound("no client \(clientID)")
        }
        let secretHash = Secrets.hash(secret)
        let previous = until == nil ? "" : client.secretHash
        client.secretHash = secretHash
        let event = events.systemEvent(.client(.updated), payload: client.payload, ownershipID: client.publicID)
        try await outbox.perform { database in
            try await database.raw(
                """
                UPDATE oauth_clients SET secret_hash = \(bind: secretHash), previous_secret_hash = \(bind: previous),
                previous_secret_until = \(bind: until ?? 0) WHERE client_id = \(bind: clientID)
                """
            ).run()
            return ((), [event])
        }
    }

    /// Makes a client that mixes login and service grants (stored before kinds were separated) a login client: its
    /// service grant and its own roles go. Emits `client.updated`.
    public func separateKinds(clientID: String) async throws {
        guard var client = try await client(id: clientID), client.kind == nil else { return }
        client.grantTypes = client.grantTypes.filter(ClientKind.loginGrants.contains)
        client.roles = []
        let grants = client.grantTypes.joined(separator: " ")
        let event = events.systemEvent(.client(.updated), payload: client.payload, ownershipID: client.publicID)
        try await outbox.perform { database in
            try await database.raw(
                "UPDATE oauth_clients SET grant_types = \(bind: grants), roles = '' WHERE client_id = \(bind: clientID)"
            ).run()
            return ((), [event])
        }
    }

    /// The ids of every client whose grants mix the login and service kinds.
    public func mixedClientIDs() async throws -> [String] {
        try await store.read { database in
            try await database.raw("SELECT client_id, grant_types FROM oauth_clients").all().compactMap { row in
                let grants = Set(Self.words(try row.decode(column: "grant_types", as: String.self)))
                let mixed =
                    !grants.isDisjoint(with: ClientKind.serviceGrants)
                    && !grants.isDisjoint(with: ClientKind.loginGrants)
                return mixed ? try row.decode(column: "client_id", as: String.self) : nil
            }
        }
    }

    public func client(id clientID: String) async throws -> ClientRecord? {
        try await store.read { database in
            try await database.raw(
                "SELECT \(unsafeRaw: ClientRecord.columns) FROM oauth_clients WHERE client_id = \(bind: clientID)"
            ).first().map(Self.client)
        }
    }

    static func client(_ row: any SQLRow) throws -> ClientRecord {
        ClientRecord(
            publicID: try row.decode(column: "public_id", as: String.self),
            clientID: try row.decode(column: "client_id", as: String.self),
            secretHash: try row.decode(column: "secret_hash", as: String.self),
            name: try row.decode(column: "name", as: String.self),
            tenantID: try row.decode(column: "tenant_id", as: String.self),
            roles: Self.words(try row.decode(column: "roles", as: String.self)),
            grantTypes: Self.words(try row.decode(column: "grant_types", as: String.self)),
            firstParty: try row.decode(column: "first_party", as: Bool.self),
            redirectURIs: Self.words(try row.decode(column: "redirect_uris", as: String.self)),
            enabled: try row.decode(column: "enabled", as: Bool.self),
            createdAt: try row.decode(column: "created_at", as: String.self),
            previousSecretHash: try row.decode(column: "previous_secret_hash", as: String.self),
            previousSecretUntil: try row.decode(column: "previous_secret_until", as: Int64.self)
        )
    }

    /// Users with this email, with their password hashes (for the password grant only).
    func users(email: String) async throws -> [(UserRecord, String)] {
        try await store.read { database in
            try await database.raw(
                """
                SELECT \(unsafeRaw: UserRecord.columns), password_hash FROM users
                WHERE email = \(bind: email.lowercased())
                """
            ).all().map { row in (try Self.user(row), try row.decode(column: "password_hash", as: String.self)) }
        }
    }

    public func user(publicID: String) async throws -> UserRecord? {
        try await store.read { database in
            try await database.raw(
                """
                SELECT \(unsafeRaw: UserRecord.columns) FROM users WHERE public_id = \(bind: publicID)
                """
            ).first().map(Self.user)
        }
    }

    static func user(_ row: any SQLRow) throws -> UserRecord {
        UserRecord(
            publicID: try row.decode(column: "public_id", as: String.self),
            tenantID: try row.decode(column: "tenant_id", as: String.self),
            email: try row.decode(column: "email", as: String.self),
            name: try row.decode(column: "name", as: String.self),
            roles: words(try row.decode(column: "roles", as: String.self)),
            enabled: try row.decode(column: "enabled", as: Bool.self),
            createdAt: try row.decode(column: "created_at", as: String.self),
            version: try row.decode(column: "version", as: Int64.self),
            updatedAt: try row.decode(column: "updated_at", as: String.self)
        )
    }

    static func words(_ text: String) -> [String] { text.split(separator: " ").map(String.init) }

}
