import BizStorage
import Logging

/// Opens the store a database URL names: `postgres://…` (or `postgresql://`) or `sqlite://PATH`.
enum DatabaseURL {
    static func open(
        _ url: String, migrations: [Migration], setting: String, pools: PoolRunner, logger: Logger
    ) async throws -> any SQLStore {
        if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
            let store = try PostgresStore(url: url, logger: logger)
            pools.start(store)
            try await store.migrate(migrations)
            return store
        }
        if url.hasPrefix("sqlite://") {
            let path = String(url.dropFirst("sqlite://".count))
            guard !path.isEmpty else { throw RuntimeError("\(setting): sqlite:// needs a file path") }
            return try await SQLiteStore.open(path: path, migrations: migrations, logger: logger)
        }
        throw RuntimeError("\(setting) must start with postgres:// or sqlite://")
    }
}
