import BizStorage

/// Runs the PostgreSQL pools a process opens, each in a child task of the process's own structured scope
/// (``withPools(_:)``): they work while the process is assembled and while it runs, and close when that scope ends,
/// after every service that used them stopped.
final class PoolRunner: Sendable {
    private let stores: AsyncStream<PostgresStore>
    private let continuation: AsyncStream<PostgresStore>.Continuation

    private init() { (stores, continuation) = AsyncStream.makeStream() }

    /// Starts running `store`'s pool.
    func start(_ store: PostgresStore) { continuation.yield(store) }

    /// Runs `body` with the pools it starts served beside it; cancels them when it returns.
    static func withPools<T: Sendable>(_ body: (PoolRunner) async throws -> T) async throws -> T {
        let runner = PoolRunner()
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                await withDiscardingTaskGroup { pools in
                    for await store in runner.stores { pools.addTask { await store.run() } }
                }
            }
            defer { group.cancelAll() }
            return try await body(runner)
        }
    }
}
