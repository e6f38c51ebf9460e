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
        await close()
    }
}
