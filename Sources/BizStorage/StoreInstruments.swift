import Metrics
import Synchronization
import Tracing

/// A store's telemetry: a `client` span per transaction (`db.transaction`), and its connections in use against the
/// pool's size (`db_connections_in_use`, `db_connections_max`, by database).
final class StoreInstruments: Sendable {
    private let system: String
    private let database: String
    private let inUse: Gauge
    private let count = Atomic<Int>(0)

    init(system: String, database: String, connections: Int) {
        self.system = system
        self.database = database
        let dimensions = [("db_system", system), ("database", database)]
        inUse = Gauge(label: "db_connections_in_use", dimensions: dimensions)
        Gauge(label: "db_connections_max", dimensions: dimensions).record(connections)
    }

    /// Runs `body` holding a connection.
    func holding<T>(_ body: () async throws -> T) async throws -> T {
        inUse.record(count.add(1, ordering: .relaxed).newValue)
        defer { inUse.record(count.subtract(1, ordering: .relaxed).newValue) }
        return try await body()
    }

    /// Runs a transaction `body` in its span.
    func transaction<T>(_ body: () async throws -> T) async throws -> T {
        try await withSpan("db.transaction", ofKind: .client) { span in
            span.attributes["db.system"] = system
            span.attributes["db.namespace"] = database
            return try await holding(body)
        }
    }
}
