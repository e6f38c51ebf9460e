import HummingbirdBcrypt
import NIOCore
import NIOPosix
import Synchronization

/// bcrypt off the shared concurrency threads: hashing and checking a password costs about a quarter of a second of
/// CPU at cost 12, and on Swift's cooperative pool (one thread per core) a handful of concurrent logins would stall
/// every other task of the process. The work runs on a pool of its own, half the cores (at least one), and at most
/// `maximumWaiting` operations may queue for it; beyond that the caller is told to retry.
public final class PasswordHasher: Sendable {
    public let cost: UInt8
    public let maximumWaiting: Int
    private let pool: NIOThreadPool
    private let waiting = Atomic<Int>(0)

    /// The process's one pool, started on first use and kept for the process's life.
    private static let sharedPool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: max(1, System.coreCount / 2))
        pool.start()
        return pool
    }()

    public init(cost: UInt8, maximumWaiting: Int = 256) {
        self.cost = cost
        self.maximumWaiting = maximumWaiting
        self.pool = Self.sharedPool
    }

    public func hash(_ password: String) async throws -> String {
        let cost = cost
        return try await run { Bcrypt.hash(password, cost: cost) }
    }

    public func verify(_ password: String, hash: String) async throws -> Bool {
        try await run { Bcrypt.verify(password, hash: hash) }
    }

    private func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async throws -> T {
        let queued = waiting.wrappingAdd(1, ordering: .relaxed).newValue
        defer { waiting.wrappingSubtract(1, ordering: .relaxed) }
        guard queued <= maximumWaiting else { throw OAuthError.temporarilyUnavailable }
        return try await pool.runIfActive(work)
    }
}
