import Foundation
import Logging
import PostgresKit
import PostgresNIO
import SQLKit
import Synchronization

/// A PostgreSQL database reached through a connection pool (postgres-nio's `PostgresClient`).
///
/// Transactions run on one leased connection each and may run concurrently; PostgreSQL serialises conflicting
/// writes itself. A lost server is not fatal: the pool reconnects on the next lease, and until then every call fails
/// as `.unavailable`, which the gateway answers with 503.
///
/// The pool works while ``run()`` runs, in a task of its owner's structured scope (the runtime's, or
/// ``withStore(url:migrations:maximumConnections:logger:_:)``); cancelling that task closes it.
public final class PostgresStore: SQLStore {
    public let flavor = SQLFlavor.postgres
    /// The pool new leases come from; ``reconnect(url:)`` replaces it.
    private let current: Mutex<Pool>
    private let added: AsyncStream<Pool>
    private let addedContinuation: AsyncStream<Pool>.Continuation
    private let target: PostgresURL
    private let maximumConnections: Int
    private let logger: Logger
    private let instruments: StoreInstruments

    /// A pool for the database `url` names (`postgres://user:password@host:port/database`); nothing connects until
    /// ``run()`` runs.
    public init(url: String, maximumConnections: Int = 8, logger: Logger) throws {
        let target = try PostgresURL(url)
        self.target = target
        self.maximumConnections = maximumConnections
        let pool = Pool(Self.client(target, maximumConnections: maximumConnections))
        self.current = Mutex(pool)
        (added, addedContinuation) = AsyncStream.makeStream()
        addedContinuation.yield(pool)
        self.logger = logger
        self.instruments = StoreInstruments(
            system: "postgresql", database: target.clientConfiguration.database ?? "",
            connections: maximumConnections)
    }

    private static func client(_ url: PostgresURL, maximumConnections: Int) -> PostgresClient {
        var configuration = url.clientConfiguration
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectTimeout = .seconds(5)
        return PostgresClient(configuration: configuration)
    }

    /// Runs the pool (and the one each ``reconnect(url:)`` makes) until the task is cancelled.
    public func run() async {
        await withDiscardingTaskGroup { group in
            for await pool in added {
                group.addTask { await pool.run() }
            }
        }
    }

    /// New connections log in with the credentials of `url` (a rotated password) from now on: a new pool takes every
    /// new lease, and the previous one closes once the transactions it lent connections to have ended. `url` must
    /// name the same server and database; only the user name and password may differ.
    public func reconnect(url: String) throws {
        let next = try PostgresURL(url)
        let (old, new) = (target.clientConfiguration, next.clientConfiguration)
        guard old.host == new.host, old.port == new.port, old.database == new.database, next.sslMode == target.sslMode
        else {
            throw StorageError(
                code: .failure,
                reason: "the new URL names another server or database: only its credentials can change while running")
        }
        let pool = Pool(Self.client(next, maximumConnections: maximumConnections))
        addedContinuation.yield(pool)
        let previous = current.withLock { current in
            defer { current = pool }
            return current
        }
        previous.retire()
        logger.notice("PostgreSQL pool replaced for new credentials", metadata: ["database": "\(new.database ?? "")"])
    }

    /// A store for `url` with `migrations` applied, running for the duration of `body`.
    public static func withStore<T>(
        url: String, migrations: [Migration], maximumConnections: Int = 8, logger: Logger,
        _ body: (PostgresStore) async throws -> T
    ) async throws -> T {
        let store = try PostgresStore(url: url, maximumConnections: maximumConnections, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await store.run() }
            defer { group.cancelAll() }
            try await store.migrate(migrations)
            return try await body(store)
        }
    }

    public func transaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await instruments.transaction { try await transactionOnConnection(body) }
    }

    private func transactionOnConnection<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T)
        async throws -> T
    {
        try await withConnection(operation: "run a transaction") { connection in
            let open = OpenConnection(connection: connection, operation: "run a transaction")
            let database = open.sql(queryLogLevel: nil)
            try await open.run("BEGIN")
            do {
                let result = try await body(database)
                try await open.run("COMMIT")
                return result
            } catch {
                // A closed connection is refused at once (the server rolled the transaction back as it went away).
                try? await open.run("ROLLBACK")
                throw error
            }
        }
    }

    public func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await instruments.holding {
            try await withConnection(operation: "read") { connection in
                try await body(OpenConnection(connection: connection, operation: "read").sql(queryLogLevel: nil))
            }
        }
    }

    /// The pool closes when the task running ``run()`` is cancelled; its owner does that after every user stopped.
    public func close() async throws {}

    /// How long a call waits for a connection before failing as `.unavailable` (the pool keeps trying to reconnect
    /// meanwhile; a later call succeeds once the server is back). Shorter than the services' gRPC deadline (10 s), so
    /// an outage is answered as a storage failure; long enough for a busy server to accept a new connection.
    static let leaseTimeout = Duration.seconds(5)

    private func withConnection<T: Sendable>(
        operation: String, _ body: @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        do {
            return try await leasing(operation: operation, body)
        } catch let error as PSQLError {
            throw StorageError(postgres: error, operation: operation)
        } catch let error as StorageError {
            throw error
        } catch let error as PostgresDecodingError {
            throw StorageError(code: .failure, reason: "could not \(operation): undecodable column \(error.columnName)")
        }
    }

    /// Leases a connection, or gives up after `leaseTimeout` while none is available. Only the wait is timed: once
    /// leased, `body` runs to the end.
    private func leasing<T: Sendable>(
        operation: String, _ body: @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let race = LeaseRace()
        let pool = current.withLock { $0.lease() }
        defer { pool.release() }
        let client = pool.client
        return try await withoutActuallyEscaping(body) {
            (body: @escaping @Sendable (PostgresConnection) async throws -> T) in
            try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask {
                    try await client.withConnection { connection in
                        guard race.settle(.leased) else { throw CancellationError() }
                        return try await body(connection)
                    }
                }
                group.addTask {
                    try? await Task.sleep(for: Self.leaseTimeout)
                    if race.settle(.timedOut) {
                        throw StorageError(
                            code: .unavailable, reason: "could not \(operation): no PostgreSQL connection available")
                    }
                    return nil
                }
                while let result = try await group.next() {
                    if let value = result {
                        group.cancelAll()
                        return value
                    }
                }
                throw CancellationError()
            }
        }
    }

    /// Applies `migrations` that have not run yet. Several processes may start at once: migrations are serialised by
    /// an advisory lock.
    public func migrate(_ migrations: [Migration]) async throws {
        let logger = self.logger
        try await transaction { database in
            // Replicas starting together would race to create the same tables; the first one in migrates.
            try await database.raw("SELECT pg_advisory_xact_lock(7236025418)").run()
            try await Migrator.applyPending(migrations, flavor: .postgres, on: database, logger: logger)
        }
    }
}

/// One `PostgresClient` and the leases taken from it. A retired pool runs until its last lease is released.
private final class Pool: Sendable {
    let client: PostgresClient
    private let leases = Atomic<Int>(0)
    private let retirement: AsyncStream<Void>
    private let retirementContinuation: AsyncStream<Void>.Continuation

    init(_ client: PostgresClient) {
        self.client = client
        (retirement, retirementContinuation) = AsyncStream.makeStream()
    }

    /// Taken while the store's lock is held, so that a pool no longer current gains no lease.
    func lease() -> Pool {
        leases.add(1, ordering: .relaxed)
        return self
    }

    func release() { leases.subtract(1, ordering: .releasing) }

    func retire() { retirementContinuation.finish() }

    /// Runs the client until the pool is retired and its leases released, or the task is cancelled.
    func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.client.run() }
            for await _ in retirement {}
            while !Task.isCancelled, leases.load(ordering: .acquiring) > 0 {
                try? await Task.sleep(for: .milliseconds(20))
            }
            group.cancelAll()
        }
    }
}

/// Who won between a connection lease and its timeout; decided once.
private final class LeaseRace: Sendable {
    enum Outcome { case waiting, leased, timedOut }
    private let state = Mutex(Outcome.waiting)

    /// Sets the outcome if nothing was decided yet; true when this call decided it.
    func settle(_ outcome: Outcome) -> Bool {
        state.withLock { state in
            guard state == .waiting else { return false }
            state = outcome
            return true
        }
    }
}

/// A `postgres://user:password@host:port/database?sslmode=disable|prefer|require|verify-full` URL. Errors name what
/// is wrong with it, never the password.
///
/// Without `sslmode`, a server on a loopback address gets `prefer` and any other `require`: `prefer` falls back to
/// plaintext when the server (or someone in between) declines TLS, which off this machine would expose passwords and
/// personal data. As with libpq, `require` encrypts without checking the certificate and `verify-full` checks it
/// against the system's trust roots and the host name.
struct PostgresURL {
    var clientConfiguration: PostgresClient.Configuration
    var sslMode: String

    /// `prefer` for a loopback host, `require` for any other.
    static func defaultSSLMode(host: String) -> String {
        let loopback = host == "localhost" || host.hasPrefix("127.") || host == "::1" || host == "[::1]"
        return loopback ? "prefer" : "require"
    }

    init(_ text: String) throws {
        func invalid(_ reason: String) -> StorageError {
            StorageError(code: .failure, reason: "invalid PostgreSQL URL: \(reason)")
        }
        guard let components = URLComponents(string: text),
            components.scheme == "postgres" || components.scheme == "postgresql"
        else { throw invalid("expected postgres://user:password@host:port/database") }
        guard let host = components.host, !host.isEmpty else { throw invalid("no host") }
        guard let user = components.user, !user.isEmpty else { throw invalid("no user name") }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty else { throw invalid("no database name") }
        let sslMode =
            components.queryItems?.first(where: { $0.name == "sslmode" })?.value ?? Self.defaultSSLMode(host: host)
        var unverified = TLSConfiguration.makeClientConfiguration()
        unverified.certificateVerification = .none
        let tls: PostgresClient.Configuration.TLS
        switch sslMode {
        case "disable": tls = .disable
        case "prefer", "allow": tls = .prefer(unverified)
        case "require": tls = .require(unverified)
        case "verify-full": tls = .require(.makeClientConfiguration())
        default: throw invalid("unknown sslmode (use disable, prefer, require or verify-full)")
        }
        self.sslMode = sslMode
        clientConfiguration = PostgresClient.Configuration(
            host: host, port: components.port ?? 5432, username: user.removingPercentEncoding ?? user,
            password: components.password?.removingPercentEncoding, database: database, tls: tls
        )
    }
}

extension StorageError {
    /// Classifies a PostgreSQL error by its SQLSTATE; never copies the server's message, which may quote values.
    init(postgres error: PSQLError, operation: String) {
        guard error.code == .server, let state = error.serverInfo?[.sqlState] else {
            // Connection-level failures: refused, closed, timed out, pool shut down.
            self.init(code: .unavailable, reason: "could not \(operation): PostgreSQL unreachable (\(error.code))")
            return
        }
        let message = error.serverInfo?[.message] ?? ""
        let code: Code
        switch state {
        case _ where state.hasPrefix("23"): code = .constraint
        // Data exceptions: a value the column or the encoding cannot hold.
        case _ where state.hasPrefix("22"): code = .invalidData
        // Connection exceptions, serialization failures and deadlocks, insufficient resources, operator
        // intervention (shutdown), system errors: all worth a retry.
        case _
        where state.hasPrefix("08") || state.hasPrefix("40") || state.hasPrefix("53") || state.hasPrefix("57")
            || state.hasPrefix("58"):
            code = .unavailable
        case "P0001" where message.contains("never deleted") || message.contains("immutable"):
            self.init(code: .refused, reason: "could not \(operation): the store refuses this change (\(message))")
            return
        default: code = .failure
        }
        self.init(code: code, reason: "could not \(operation): PostgreSQL SQLSTATE \(state)")
    }
}
