import BizAuth
import BizEvents
import BizOutbox
import BizStorage
import Foundation
import HummingbirdBcrypt
import SQLKit

/// The roles of the platform.
public enum Roles {
    /// Full control of a tenant (of every tenant, in the `platform` tenant).
    public static let admin = "admin"
    public static let manager = "manager"
    public static let viewer = "viewer"
    /// Roles a user may be given.
    public static let assignable: Set<String> = [admin, manager, viewer]
    /// The tenant of the platform's own operators.
    public static let platformTenant = "platform"

    /// One or more of the assignable roles.
    static func validate(_ roles: [String]) throws {
        guard !roles.isEmpty, roles.allSatisfy(assignable.contains) else {
            throw IdentityError.invalidArgument(
                field: "roles", problem: "must be one or more of \(assignable.sorted().joined(separator: ", "))")
        }
    }

    /// The roles without repeats, in the order given.
    static func unique(_ roles: [String]) -> [String] {
        var seen: Set<String> = []
        return roles.filter { seen.insert($0).inserted }
    }

    /// A tenant is a client contractor's `public_id`, or the platform itself.
    static func validateTenant(_ tenantID: String) throws {
        guard tenantID == platformTenant || EventID.isUUID(tenantID) else {
            throw IdentityError.invalidArgument(
                field: "tenant_id", problem: "must be 'platform' or a client contractor's public_id"
            )
        }
    }
}
