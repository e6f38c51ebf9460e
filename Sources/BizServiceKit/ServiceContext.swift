import BizAuth
import BizFlags
import BizMessaging
import BizOutbox
import BizStorage
import Foundation
import Logging

/// What the runtime hands a module: its configuration, its database (migrated) and the outbox over it, the
/// factory of its events, the platform's keys and token verifier, and where refused events go.
public struct ServiceContext: Sendable {
    public var configuration: PlatformConfiguration
    /// The module's own database (`<data-dir>/<name>.sqlite`, or `BIZ_DATABASE_URL`), with its migrations applied.
    public var database: any SQLStore
    /// The module's outbox over ``database``; the runtime relays it to the event log.
    public var outbox: Outbox
    /// Builds the module's events (`producer_service`, this instance's id, `metadata.environment`).
    public var events: EventFactory
    public var masterKey: MasterKey
    /// Verifies the bearer tokens of calls (the Identity Provider's keys).
    public var verifier: TokenVerifier
    /// Where events that fail validation go (the durable bus's store, or `audit.dlq`).
    public var deadLetters: any DeadLetterStore
    /// Opens another store the module names in its configuration (`sqlite://`, `postgres://`); the runtime owns and
    /// closes it.
    public var openDatabase:
        @Sendable (_ url: String, _ migrations: [Migration], _ setting: String) async throws -> any SQLStore
    /// Clients of the services the module calls (its ``ServiceModule/dependencies``).
    public var connections: ServiceConnections
    /// The module's own identity: the token of its service account, for the metadata of every call it makes to
    /// another service (``ServiceIdentity/metadata(onBehalfOf:)``), and the caller of what it does on its own.
    public var identity: ServiceIdentity
    /// Every service's account (the Identity Provider keeps their clients).
    public var serviceAccounts: [ServiceAccount]
    /// Runs `close` when the process stops, after every service that may use the resource.
    public var onShutdown: @Sendable (_ close: @escaping @Sendable () async -> Void) -> Void
    /// The process's feature flags (`BIZ_FLAGS_FILE`), always the ones in force.
    public var flags: FeatureFlags
    /// Where the module registers for the secrets it can take new values of while running.
    public var secretRotation = SecretRotationHooks()
    public var logger: Logger

    public init(
        configuration: PlatformConfiguration, database: any SQLStore, outbox: Outbox, events: EventFactory,
        masterKey: MasterKey, verifier: TokenVerifier, deadLetters: any DeadLetterStore,
        openDatabase: @escaping @Sendable (String, [Migration], String) async throws -> any SQLStore,
        connections: ServiceConnections = ServiceConnections(), identity: ServiceIdentity,
        serviceAccounts: [ServiceAccount] = [],
        onShutdown: @escaping @Sendable (@escaping @Sendable () async -> Void) -> Void,
        flags: FeatureFlags = FeatureFlags(), logger: Logger
    ) {
        self.configuration = configuration
        self.database = database
        self.outbox = outbox
        self.events = events
        self.masterKey = masterKey
        self.verifier = verifier
        self.deadLetters = deadLetters
        self.openDatabase = openDatabase
        self.connections = connections
        self.identity = identity
        self.serviceAccounts = serviceAccounts
        self.onShutdown = onShutdown
        self.flags = flags
        self.logger = logger
    }

    /// The data directory (generated files: credentials, keys, certificates).
    public var dataDirectory: URL { URL(fileURLWithPath: configuration.dataDirectory, isDirectory: true) }
}
