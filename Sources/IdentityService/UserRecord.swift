import BizAuth
import BizEvents
import BizOutbox
import BizStorage
import Foundation
import HummingbirdBcrypt
import SQLKit

/// A user as stored (never with the password hash outside this module).
public struct UserRecord: Sendable, Hashable {
    public var publicID: String
    public var tenantID: String
    public var email: String
    public var name: String
    public var roles: [String]
    public var enabled: Bool
    public var createdAt: String
    public var version: Int64 = 1
    public var updatedAt: String = ""

    /// The `user.*` event payload: the full state, without any secret or hash.
    var payload: [String: JSONValue] {
        [
            "public_id": .string(publicID), "tenant_id": .string(tenantID), "email": .string(email),
            "name": .string(name), "roles": .array(roles.map(JSONValue.string)), "enabled": .bool(enabled),
            "created_at": .string(createdAt), "version": .integer(version),
            "updated_at": .string(updatedAt.isEmpty ? createdAt : updatedAt),
        ]
    }

    static let columns = "public_id, tenant_id, email, name, roles, enabled, created_at, updated_at, version"
}
