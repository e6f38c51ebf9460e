import BizStorage
import ServiceLifecycle

/// Keeps a resource (a database, a DynamoDB client) open for the process's life and closes it at shutdown. Placed
/// first in the group, so it closes after everything that uses it.
struct ClosingService: Service {
    var close: @Sendable () async -> Void

    init(close: @escaping @Sendable () async -> Void) { self.close = close }

    init(store: any SQLStore) { self.close = { try? await store.close() } }

    func run() async throws {
        try? await gracefulShutdown()
        // Should the group's task be cancelled, closing must still run to the end, so it runs in a task of its own,
        // which that cancellation does not reach (a SQLite connection left open asserts in its deinit). Another
        // service's failure shuts the group down gracefully (`BizNode.entries`), so the store's users stop first.
        let close = self.close
        await Task { await close() }.value
    }
}
