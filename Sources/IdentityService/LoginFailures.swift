import BizAuth
import BizEvents
import BizStorage
import Foundation
import SQLKit

extension IdentityDirectory {
    /// Releases the user's sign-in lockout and forgets its failed logins; `user.unlocked` when it was locked.
    public func unlock(_ publicID: String, in tenant: String?, caller: Caller) async throws -> UserRecord {
        let user = try await user(publicID, in: tenant)
        let now = EventTimestamp.now().millisecondsSinceEpoch
        let event = events.event(.user(.unlocked), payload: user.payload, ownershipID: user.publicID, caller: caller)
        try await outbox.perform { database in
            let wasLocked =
                try await database.raw(
                    """
                    DELETE FROM login_failures WHERE username = \(bind: user.email)
                    RETURNING CASE WHEN locked_until > \(bind: now) THEN 1 ELSE 0 END AS locked
                    """
                ).first()?.decode(column: "locked", as: Int64.self) == 1
            return ((), wasLocked ? [event] : [])
        }
        return user
    }
}

/// An account's failed logins, by lowercased username: whether the next attempt must wait, or the account is locked.
///
/// Kept for any username, registered or not, and answered the same way: neither the delays nor the lockout tell
/// which emails exist. Only a registered user's lockout is also an event (`user.locked`), which only operators see.
struct LoginFailures: Sendable {
    let directory: IdentityDirectory
    let policy: LoginPolicy

    enum Verdict: Sendable, Equatable {
        case allowed(failures: Int)
        case wait(seconds: Int)
        case locked(seconds: Int)
    }

    func verdict(_ username: String, now: Int64) async throws -> Verdict {
        let row = try await directory.store.read { database in
            try await database.raw(
                """
                SELECT failures, last_failed_at, locked_until FROM login_failures
                WHERE username = \(bind: username.lowercased())
                """
            ).first()
        }
        guard let row else { return .allowed(failures: 0) }
        let failures = Int(try row.decode(column: "failures", as: Int64.self))
        let last = try row.decode(column: "last_failed_at", as: Int64.self)
        if let lockedUntil = try row.decode(column: "locked_until", as: Int64?.self) {
            guard lockedUntil <= now else { return .locked(seconds: Self.seconds(lockedUntil - now)) }
            // A lockout that ran out starts the count afresh.
            return .allowed(failures: 0)
        }
        let ready = last + Int64(policy.delay(failures: failures, threshold: policy.delayAfter) * 1000)
        return ready > now ? .wait(seconds: Self.seconds(ready - now)) : .allowed(failures: failures)
    }

    /// Records a failure; locks the account when it reaches the limit, with `user.locked` for a registered user.
    /// Returns whether this failure locked it.
    @discardableResult
    func failed(_ username: String, user: UserRecord?, now: Int64) async throws -> Bool {
        let key = username.lowercased()
        let lockedUntil = now + Int64(policy.lockoutSeconds) * 1000
        return try await directory.outbox.perform { database in
            // An expired lockout restarts the count; concurrent failures each count (the upsert is atomic).
            let failures =
                try await database.raw(
                    """
                    INSERT INTO login_failures (username, failures, last_failed_at) VALUES (\(bind: key), 1, \(bind: now))
                    ON CONFLICT (username) DO UPDATE SET
                    failures = CASE WHEN login_failures.locked_until <= \(bind: now) THEN 1
                        ELSE login_failures.failures + 1 END,
                    locked_until = CASE WHEN login_failures.locked_until <= \(bind: now) THEN NULL
                        ELSE login_failures.locked_until END,
                    last_failed_at = \(bind: now)
                    RETURNING failures
                    """
                ).first()?.decode(column: "failures", as: Int64.self) ?? 1
            guard failures >= policy.lockoutAfter else { return (false, []) }
            let locked =
                try await database.raw(
                    """
                    UPDATE login_failures SET locked_until = \(bind: lockedUntil)
                    WHERE username = \(bind: key) AND locked_until IS NULL RETURNING username
                    """
                ).first() != nil
            guard locked, let user else { return (locked, []) }
            var payload = user.payload
            payload["locked_until"] = .string(EventTimestamp(millisecondsSinceEpoch: lockedUntil).rfc3339)
            payload["failed_logins"] = .integer(failures)
            return (true, [directory.events.systemEvent(.user(.locked), payload: payload, ownershipID: user.publicID)])
        }
    }

    /// A successful login forgets the account's failures.
    func succeeded(_ username: String) async throws {
        try await directory.store.transaction { database in
            try await database.raw(
                "DELETE FROM login_failures WHERE username = \(bind: username.lowercased())"
            ).run()
        }
    }

    /// Failures of usernames not seen for a day and not locked: dropped, so guesses at random emails cannot grow the
    /// table without bound.
    func prune(now: Int64) async throws {
        try await directory.store.transaction { database in
            try await database.raw(
                """
                DELETE FROM login_failures WHERE last_failed_at < \(bind: now - 86_400_000)
                AND (locked_until IS NULL OR locked_until < \(bind: now))
                """
            ).run()
        }
    }

    static func seconds(_ milliseconds: Int64) -> Int { max(1, Int((Double(milliseconds) / 1000).rounded(.up))) }
}
