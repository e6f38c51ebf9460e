import BizStorage
import Logging

/// Opens the store a database URL names: `postgres://…` (or `postgresql://`) or `sqlite://PATH`.
enum DatabaseURL {
    static func open(_ url: String, migrations: [Migration], setting: String, logger: Logger) async throws
        -> any SQLStore
    {
        if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
            return try await PostgresStore.open(url: url, migrations: migrations, logger: logger)
        }
        if url.hasPrefix("sqlite://") {
            let path = String(url.dropFirst("sqlite://".count))
            guard !path.isEmpty else { throw RuntimeError("\(setting): sqlite:// needs a file path") }
            return try await SQLiteStore.open(path: path, migrations: migrations, logger: logger)
        }
        throw RuntimeError("\(setting) must start with postgres:// or sqlite://")
    }
}
