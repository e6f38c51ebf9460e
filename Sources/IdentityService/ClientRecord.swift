import BizAuth
import BizEvents
import BizOutbox
import BizStorage
import Foundation
import HummingbirdBcrypt
import SQLKit

/// An OAuth2 client as stored.
public struct ClientRecord: Sendable, Hashable {
    public var publicID: String
    public var clientID: String
    public var secretHash: String
    public var name: String
    public var tenantID: String
    public var roles: [String]
    public var grantTypes: [String]
    public var firstParty: Bool
    /// Where authorization responses may be sent (checked by ``RedirectURIs``).
    public var redirectURIs: [String] = []
    public var enabled: Bool
    public var createdAt: String
    /// A platform client's secret before the configuration rotated it, accepted until ``previousSecretUntil``
    /// (seconds since 1970) so that processes which have not read the new one yet keep working; empty otherwise.
    public var previousSecretHash = ""
    public var previousSecretUntil: Int64 = 0

    /// A public client (a browser or mobile app) has no secret to authenticate with (RFC 6749 §2.1); PKCE binds its
    /// codes instead.
    public var publicClient: Bool { secretHash.isEmpty }

    var payload: [String: JSONValue] {
        [
            "public_id": .string(publicID), "client_id": .string(clientID), "name": .string(name),
            "tenant_id": .string(tenantID), "roles": .array(roles.map(JSONValue.string)),
            "grant_types": .array(grantTypes.map(JSONValue.string)), "first_party": .bool(firstParty),
            "redirect_uris": .array(redirectURIs.map(JSONValue.string)), "public_client": .bool(publicClient),
            "enabled": .bool(enabled),
            "created_at": .string(createdAt),
        ]
    }

    static let columns =
        "public_id, client_id, secret_hash, name, tenant_id, roles, grant_types, first_party, enabled, created_at, "
        + "redirect_uris, previous_secret_hash, previous_secret_until"

    /// Whether `secret` is the client's, or its previous one still within its grace period at `now`.
    func accepts(secret: String, now: Int64) -> Bool {
        if Secrets.matches(secret, hash: secretHash) { return true }
        return now < previousSecretUntil && !previousSecretHash.isEmpty
            && Secrets.matches(secret, hash: previousSecretHash)
    }
}
