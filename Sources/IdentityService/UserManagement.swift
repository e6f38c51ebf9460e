import BizAuth
import BizEvents
import BizServiceKit
import BizStorage
import Crypto
import Foundation
import SQLKit

extension IdentityDirectory {
    /// The password policy (``CommonPasswords``): 12 to 72 characters (400 otherwise, as the OpenAPI document says);
    /// over 72 bytes in UTF-8 (bcrypt reads no further), the email, or a common password is 422.
    static func checkPassword(_ password: String, email: String) throws {
        let range = CommonPasswords.minimumLength...CommonPasswords.maximumLength
        guard range.contains(password.unicodeScalars.count) else {
            throw IdentityError.invalidArgument(
                field: "password", problem: "must be \(range.lowerBound) to \(range.upperBound) characters long")
        }
        guard password.utf8.count <= CommonPasswords.maximumLength else {
            throw IdentityError.unprocessable(field: "password", problem: "is over 72 bytes in UTF-8")
        }
        if let weakness = CommonPasswords.weakness(of: password, email: email) {
            throw IdentityError.unprocessable(field: "password", problem: weakness)
        }
    }

    /// 24 characters of base64url from 18 random bytes (144 bits), for a password shown once.
    public static func generatedPassword() -> String {
        SymmetricKey(size: .init(bitCount: 144)).withUnsafeBytes { Data($0) }.base64URLEncodedString
    }

    /// The user `publicID` if it is in `tenant` (any tenant when nil); another tenant's is not found.
    public func user(_ publicID: String, in tenant: String?) async throws -> UserRecord {
        guard let user = try await user(publicID: publicID), tenant == nil || user.tenantID == tenant else {
            throw IdentityError.notFound("user not found")
        }
        return user
    }

    /// A page of a tenant's users, in creation order, with their row ids (the page cursor).
    public func users(tenantID: String, after: Int64?, limit: Int) async throws -> [(id: Int64, user: UserRecord)] {
        try await store.read { database in
            try await database.raw(
                """
                SELECT id, \(unsafeRaw: UserRecord.columns) FROM users
                WHERE tenant_id = \(bind: tenantID) AND id > \(bind: after ?? 0) ORDER BY id LIMIT \(bind: limit)
                """
            ).all().map { row in (try row.decode(column: "id", as: Int64.self), try Self.user(row)) }
        }
    }

    public enum UserChange: Sendable {
        case update(name: String?, roles: [String]?)
        case enable(Bool)
        /// A new password's hash.
        case password(hash: String)
        case delete
    }

    /// Applies `change` to the user `publicID` of `tenant` (any tenant when nil) and emits its event (`user.updated`
    /// for a password reset, with no secret in it). Disabling, deleting or a new password ends the user's sessions
    /// (its refresh tokens); an access token already issued lives out its 15 minutes. An admin cannot disable,
    /// delete or demote themselves (the tenant would risk having no admin left).
    @discardableResult
    public func changeUser(
        _ publicID: String, in tenant: String?, _ change: UserChange, expectedVersion: Int64? = nil, caller: Caller
    ) async throws -> UserRecord {
        var change = change
        if case .update(let name, let roles) = change {
            let name = try name.map {
                try TextInput.required($0, field: "name", limit: 200)
            }
            if let roles { try Roles.validate(roles) }
            change = .update(name: name, roles: roles.map(Roles.unique))
        }
        let ownAccount = caller.principal.subject == publicID
        switch change {
        case .enable(false), .delete:
            if ownAccount { throw Self.selfLockout }
        case .update(_, let roles?) where ownAccount && !roles.contains(Roles.admin):
            throw Self.selfLockout
        case .password where ownAccount:
            // Without the current password, a reset of one's own would let a stolen access token keep the account.
            throw ServiceError.unprocessable(
                field: "public_id", problem: "is the caller's own user: an admin cannot reset their own password")
        default: break
        }
        let now = EventTimestamp.now().rfc3339
        let finalChange = change
        return try await outbox.perform { database in
            guard
                var user = try await database.raw(
                    "SELECT \(unsafeRaw: UserRecord.columns) FROM users WHERE public_id = \(bind: publicID)"
                ).first().map(Self.user), tenant == nil || user.tenantID == tenant
            else { throw IdentityError.notFound("user not found") }
            if let expectedVersion, expectedVersion != user.version {
                throw ServiceError.versionMismatch(current: user.version)
            }
            let verb: EventVerb
            var endSessions = false
            switch finalChange {
            case .update(let name, let roles):
                user.name = name ?? user.name
                user.roles = roles ?? user.roles
                verb = .updated
            case .enable(let enabled):
                user.enabled = enabled
                verb = enabled ? .enabled : .disabled
                endSessions = !enabled
            case .password(let hash):
                try await database.raw(
                    "UPDATE users SET password_hash = \(bind: hash) WHERE public_id = \(bind: publicID)"
                ).run()
                verb = .updated
                endSessions = true
            case .delete:
                verb = .deleted
                endSessions = true
            }
            user.version += 1
            user.updatedAt = now
            if verb == .deleted {
                try await database.raw("DELETE FROM users WHERE public_id = \(bind: publicID)").run()
            } else {
                try await database.raw(
                    """
                    UPDATE users SET name = \(bind: user.name), roles = \(bind: user.roles.joined(separator: " ")),
                    enabled = \(bind: user.enabled), version = \(bind: user.version), updated_at = \(bind: now)
                    WHERE public_id = \(bind: publicID)
                    """
                ).run()
            }
            if endSessions {
                try await database.raw(
                    """
                    UPDATE refresh_tokens SET revoked_at = \(bind: now)
                    WHERE user_public_id = \(bind: publicID) AND revoked_at IS NULL
                    """
                ).run()
                try await database.raw(
                    """
                    UPDATE sessions SET ended_at = \(bind: now)
                    WHERE user_public_id = \(bind: publicID) AND ended_at IS NULL
                    """
                ).run()
            }
            let event = events.event(.user(verb), payload: user.payload, ownershipID: user.publicID, caller: caller)
            return (user, [event])
        }
    }

    static let selfLockout = ServiceError.unprocessable(
        field: "public_id", problem: "is the caller's own user: an admin cannot disable, delete or demote themselves")
}
