import Foundation
import Synchronization

/// Limits password logins per client IP and per username, with token buckets: each key may try `burst` times at
/// once, then once per `interval`. A caller over either limit is told when to retry, before any password is checked,
/// so guessing costs the guesser time and the server nothing.
public final class LoginThrottle: Sendable {
    public struct Limit: Sendable {
        public var burst: Double
        public var interval: Double

        public init(burst: Double, interval: Double) {
            self.burst = burst
            self.interval = interval
        }
    }

    /// 10 at once, then one every 6 s per username; 30 at once, then one every 2 s per IP.
    public static let standard = (username: Limit(burst: 10, interval: 6), ip: Limit(burst: 30, interval: 2))

    struct Bucket {
        var tokens: Double
        var updated: TimeInterval
    }

    private let usernameLimit: Limit
    private let ipLimit: Limit
    private let buckets = Mutex<[String: Bucket]>([:])
    static let capacity = 100_000

    public init(username: Limit = standard.username, ip: Limit = standard.ip) {
        self.usernameLimit = username
        self.ipLimit = ip
    }

    /// Takes one attempt for both keys, or returns the seconds to wait when either is exhausted (then takes none).
    public func attempt(username: String, ip: String, now: TimeInterval = Date().timeIntervalSince1970) -> Int? {
        buckets.withLock { buckets in
            if buckets.count > Self.capacity { Self.prune(&buckets, now: now, limits: [usernameLimit, ipLimit]) }
            let keys = [("user:" + username.lowercased(), usernameLimit), ("ip:" + ip, ipLimit)]
            var refilled: [(String, Bucket)] = []
            var wait = 0.0
            for (key, limit) in keys {
                var bucket = buckets[key] ?? Bucket(tokens: limit.burst, updated: now)
                bucket.tokens = min(limit.burst, bucket.tokens + (now - bucket.updated) / limit.interval)
                bucket.updated = now
                if bucket.tokens < 1 { wait = max(wait, (1 - bucket.tokens) * limit.interval) }
                refilled.append((key, bucket))
            }
            guard wait == 0 else {
                for (key, bucket) in refilled { buckets[key] = bucket }
                return max(1, Int(wait.rounded(.up)))
            }
            for (key, var bucket) in refilled {
                bucket.tokens -= 1
                buckets[key] = bucket
            }
            return nil
        }
    }

    /// Drops buckets that have refilled completely (they hold nothing a fresh one would not).
    static func prune(_ buckets: inout [String: Bucket], now: TimeInterval, limits: [Limit]) {
        let longest = limits.map { $0.burst * $0.interval }.max() ?? 0
        buckets = buckets.filter { now - $0.value.updated < longest }
        if buckets.count > capacity { buckets.removeAll(keepingCapacity: true) }
    }
}
