import BizAuth
import BizEvents
import BizServiceKit
import BizStorage
import SQLKit

extension IdentityDirectory {
    /// A page of a tenant's clients, in creation order, with their row ids (the page cursor).
    public func clients(tenantID: String, after: Int64?, limit: Int) async throws -> [(id: Int64, client: ClientRecord)]
    {
        try await store.read { database in
            try await database.raw(
                """
                SELECT id, \(unsafeRaw: ClientRecord.columns) FROM oauth_clients
                WHERE tenant_id = \(bind: tenantID) AND id > \(bind: after ?? 0) ORDER BY id LIMIT \(bind: limit)
                """
            ).all().map { row in (try row.decode(column: "id", as: Int64.self), try Self.client(row)) }
        }
    }

    /// The client `publicID` if it is in `tenant` (any tenant when nil); another tenant's is not found.
    public func client(publicID: String, in tenant: String?) async throws -> ClientRecord {
        let client = try await store.read { database in
            try await database.raw(
                "SELECT \(unsafeRaw: ClientRecord.columns) FROM oauth_clients WHERE public_id = \(bind: publicID)"
            ).first().map(Self.client)
        }
        guard let client, tenant == nil || client.tenantID == tenant else {
            throw IdentityError.notFound("client not found")
        }
        return client
    }

    public enum ClientChange: Sendable {
        case enable(Bool)
        /// A new secret's hash.
        case secret(hash: String)
    }

    /// The platform's own clients (the services' accounts, the operator CLI's) keep working whatever an API call
    /// asks: their secrets come from the configuration (`BIZ_<SERVICE>_CLIENT_SECRET`, `BIZ_OPERATOR_CLIENT_SECRET`)
    /// or the master key.
    static func isInternal(_ client: ClientRecord) -> Bool {
        client.clientID == IdentityBootstrap.operatorClientID
            || ServiceAccount.isAccount(clientID: client.clientID, publicID: client.publicID)
    }

    /// Applies `change` to the client `publicID` of `tenant` (any tenant when nil) and emits `client.disabled`,
    /// `client.enabled` or `client.secret_rotated` (never with a secret or hash). Disabling or a new secret ends the
    /// sessions signed in through the client (its refresh tokens).
    @discardableResult
    public func changeClient(_ publicID: String, in tenant: String?, _ change: ClientChange, caller: Caller)
        async throws -> ClientRecord
    {
        var client = try await client(publicID: publicID, in: tenant)
        guard !Self.isInternal(client) else {
            throw ServiceError.unprocessable(
                field: "public_id", problem: "is one of the platform's own clients, managed by its configuration")
        }
        let verb: EventVerb
        switch change {
        case .enable(let enabled):
            client.enabled = enabled
            verb = enabled ? .enabled : .disabled
        case .secret(let hash):
            guard !client.publicClient else {
                throw IdentityError.unprocessable(
                    field: "public_id", problem: "is a public client, which has no secret")
            }
            client.secretHash = hash
            verb = .secretRotated
        }
        let endSessions: Bool
        if case .enable(true) = change { endSessions = false } else { endSessions = true }
        let now = EventTimestamp.now().rfc3339
        let changed = client
        let event = events.event(.client(verb), payload: client.payload, ownershipID: client.publicID, caller: caller)
        try await outbox.perform { database in
            try await database.raw(
                """
                UPDATE oauth_clients SET enabled = \(bind: changed.enabled), secret_hash = \(bind: changed.secretHash)
                WHERE public_id = \(bind: publicID)
                """
            ).run()
            if endSessions {
                try await database.raw(
                    """
                    UPDATE refresh_tokens SET revoked_at = \(bind: now)
                    WHERE client_id = \(bind: changed.clientID) AND revoked_at IS NULL
                    """
                ).run()
            }
            return ((), [event])
        }
        return client
    }
}
