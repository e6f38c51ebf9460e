import Foundation
import Synchronization

/// How failed password logins are slowed down, then stopped: per account (kept in the database, so a restart or a
/// second Identity process does not forget it) and per client address (in memory).
public struct LoginPolicy: Sendable, Hashable {
    /// An account's failures before each further attempt must wait: 1 s after the next one, doubling, at most
    /// ``maximumDelay``.
    public var delayAfter: Int
    /// The failures that lock the account, for ``lockoutSeconds``, however right the next password is.
    public var lockoutAfter: Int
    public var lockoutSeconds: Int
    /// Failures from one client address (any accounts) before its attempts wait in the same way.
    public var addressDelayAfter: Int
    public var maximumDelay: Double = 60
    /// An address's failures are forgotten after this long without one.
    public var addressMemory: Double = 900

    public init(delayAfter: Int = 3, lockoutAfter: Int = 10, lockoutSeconds: Int = 900, addressDelayAfter: Int = 20) {
        self.delayAfter = delayAfter
        self.lockoutAfter = lockoutAfter
        self.lockoutSeconds = lockoutSeconds
        self.addressDelayAfter = addressDelayAfter
    }

    /// Seconds a key with `failures` must wait after its last one: none up to `threshold`, then 1, 2, 4, …
    func delay(failures: Int, threshold: Int) -> Double {
        guard failures >= threshold else { return 0 }
        return min(maximumDelay, pow(2, Double(min(failures - threshold, 30))))
    }
}

/// The per-address half of ``LoginPolicy``: failures by client IP, bounded in memory.
public final class LoginThrottle: Sendable {
    struct Failures {
        var count: Int
        var last: TimeInterval
    }

    public let policy: LoginPolicy
    /// Seconds since 1970 by which delays and lockouts (the accounts' too) are counted: the system's clock, or a
    /// test's.
    public let clock: @Sendable () -> TimeInterval
    private let addresses = Mutex<[String: Failures]>([:])
    static let capacity = 100_000

    public init(
        policy: LoginPolicy = LoginPolicy(),
        clock: @escaping @Sendable () -> TimeInterval = { Date().timeIntervalSince1970 }
    ) {
        self.policy = policy
        self.clock = clock
    }

    /// Whole seconds the address must still wait, or nil when it may try now.
    public func wait(address: String, now: TimeInterval) -> Int? {
        addresses.withLock { addresses in
            guard let failures = addresses[address], now - failures.last < policy.addressMemory else { return nil }
            let remaining =
                failures.last + policy.delay(failures: failures.count, threshold: policy.addressDelayAfter)
                - now
            return remaining > 0 ? max(1, Int(remaining.rounded(.up))) : nil
        }
    }

    public func failed(address: String, now: TimeInterval) {
        addresses.withLock { addresses in
            if addresses.count >= Self.capacity {
                addresses = addresses.filter { now - $0.value.last < policy.addressMemory }
                if addresses.count >= Self.capacity { addresses.removeAll(keepingCapacity: true) }
            }
            var failures = addresses[address] ?? Failures(count: 0, last: now)
            if now - failures.last >= policy.addressMemory { failures.count = 0 }
            failures.count += 1
            failures.last = now
            addresses[address] = failures
        }
    }
}
