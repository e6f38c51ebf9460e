import APIGateway
import AuditService
import BizAuth
import BizEvents
import BizKafka
import BizMessaging
import BizOutbox
import BizProtos
import BizStorage
import Crypto
import Foundation
import GRPCCore
import IdentityService
import Logging
import ServiceLifecycle
import TeamService

/// The services `biz-retail serve <service>` runs, one per process, in the distributed mode.
public enum ServiceRole: String, CaseIterable, Sendable {
    case gateway
    case identity
    case team
    case audit
    case clientContractor = "client-contractor"
    case costCenter = "cost-center"
    case notifications

    /// The roles this version implements.
    public static let available: [ServiceRole] = [.gateway, .identity, .team, .audit]
}

/// Configuration of one process of the distributed mode. Everything but addresses comes from the environment
/// (README lists the variables).
public struct NodeConfiguration: Sendable {
    public var role: ServiceRole
    public var dataDirectory: String
    public var grpcHost: String
    public var grpcPort: Int
    public var httpsHost: String
    public var httpsPort: Int
    public var environment: [String: String]

    public init(
        role: ServiceRole, dataDirectory: String, grpcHost: String, grpcPort: Int, httpsHost: String, httpsPort: Int,
        environment: [String: String]
    ) {
        self.role = role
        self.dataDirectory = dataDirectory
        self.grpcHost = grpcHost
        self.grpcPort = grpcPort
        self.httpsHost = httpsHost
        self.httpsPort = httpsPort
        self.environment = environment
    }

    func setting(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }

    func required(_ name: String, _ why: String) throws -> String {
        guard let value = setting(name) else {
            throw RuntimeError("\(name) is required to serve \(role.rawValue): \(why)")
        }
        return value
    }

    /// `BIZ_<NAME>_ADDRESS` (`host:port`) of a service this process calls; 127.0.0.1:50051 by default.
    func address(of service: String) throws -> ServiceAddress {
        let name = "BIZ_\(service.uppercased())_ADDRESS"
        guard let text = setting(name) else { return ServiceAddress(host: "127.0.0.1", port: 50051) }
        guard let address = ServiceAddress(text) else { throw RuntimeError("\(name) must be host:port") }
        return address
    }
}

extension BizSystem {
    static let audience = "biz-retail-api"

    /// Builds one service of the distributed mode: its own database (`BIZ_DATABASE_URL`), events through Kafka
    /// (`BIZ_KAFKA_BROKERS`), and gRPC to the services it calls.
    public static func node(_ configuration: NodeConfiguration, logger: Logger) async throws -> BizSystem {
        guard ServiceRole.available.contains(configuration.role) else {
            throw RuntimeError(
                "the \(configuration.role.rawValue) service does not exist yet; available: "
                    + ServiceRole.available.map(\.rawValue).joined(separator: ", "))
        }
        if let instance = configuration.setting("BIZ_INSTANCE_ID"), !EventID.isUUID(instance) {
            throw RuntimeError("BIZ_INSTANCE_ID must be a UUID (it becomes producer_service_id)")
        }
        var resolved = configuration
        resolved.grpcPort = try FreePort.resolve(configuration.grpcPort, host: configuration.grpcHost)
        resolved.httpsPort = try FreePort.resolve(configuration.httpsPort, host: configuration.httpsHost)
        let directory = URL(fileURLWithPath: resolved.dataDirectory, isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let node = NodeBuilder(
            configuration: resolved, instanceID: NodeBuilder.instanceID(resolved, directory: directory), logger: logger)
        return try await node.build()
    }
}

/// Assembles one process of the distributed mode.
struct NodeBuilder {
    let configuration: NodeConfiguration
    /// This replica's id (`producer_service_id`, and its static Kafka group membership).
    let instanceID: String
    let logger: Logger
    var directory: URL { URL(fileURLWithPath: configuration.dataDirectory, isDirectory: true) }
    var role: ServiceRole { configuration.role }
    var issuer: String { configuration.setting("BIZ_ISSUER") ?? "https://localhost:8443" }

    init(configuration: NodeConfiguration, instanceID: String, logger: Logger) {
        self.configuration = configuration
        self.instanceID = instanceID
        self.logger = logger
    }

    func build() async throws -> BizSystem {
        var parts = Parts()
        let endpoints = EndpointsFile(url: directory.appendingPathComponent("endpoints.json"))
        switch role {
        case .identity: try await buildIdentity(into: &parts)
        case .team: try await buildTeam(into: &parts)
        case .audit: try await buildAudit(into: &parts)
        case .gateway: try await buildGateway(into: &parts, endpoints: endpoints)
        case .clientContractor, .costCenter, .notifications: break
        }
        if !parts.grpcServices.isEmpty {
            let host = configuration.grpcHost
            parts.services.append(
                GRPCServerService(
                    host: host, port: configuration.grpcPort, services: parts.grpcServices,
                    interceptors: [AuthInterceptor.platform(verifier: parts.verifier!, logger: logger)],
                    name: role.rawValue, logger: logger,
                    onListening: { port in await endpoints.record("grpc", "\(host):\(port)") }
                ))
        }
        return BizSystem(services: parts.services, stores: parts.stores)
    }

    /// What the builders accumulate.
    struct Parts {
        var services: [any Service] = []
        var stores: [any SQLStore] = []
        var grpcServices: [any RegistrableRPCService] = []
        var verifier: TokenVerifier?
    }

    // MARK: Services

    private func buildIdentity(into parts: inout Parts) async throws {
        let store = try await openDatabase(IdentitySchema.migrations, into: &parts)
        let outbox = Outbox(store: store)
        try await relay(outbox, into: &parts)
        let masterKey = try masterKey()
        let identityDirectory = IdentityDirectory(
            outbox: outbox, events: events("identity_service"),
            bcryptCost: UInt8(configuration.setting("BIZ_BCRYPT_COST").flatMap(UInt8.init) ?? 12))
        let signingKeys = SigningKeyStore(store: store, masterKey: masterKey)
        let tokenIssuer = TokenIssuer(
            directory: identityDirectory, keys: signingKeys, issuer: issuer, audience: BizSystem.audience)
        let bootstrap = IdentityBootstrap(directory: identityDirectory, dataDirectory: directory, logger: logger)
        try await bootstrap.run(.fromEnvironment(configuration.environment))
        try await bootstrap.ensureGatewayClient(
            secret: try configuration.required(
                "BIZ_GATEWAY_CLIENT_SECRET", "the gateway authenticates to the services with it"))
        parts.verifier = TokenVerifier(issuer: issuer, audience: BizSystem.audience) { try await signingKeys.jwks() }
        parts.grpcServices.append(IdentityGRPCService(issuer: tokenIssuer, directory: identityDirectory))
    }

    private func buildTeam(into parts: inout Parts) async throws {
        let store = try await openDatabase(TeamSchema.migrations, into: &parts)
        let outbox = Outbox(store: store)
        try await relay(outbox, into: &parts)
        let masterKey = try masterKey()
        let subjectKey = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: masterKey.key, info: Data("biz-retail ownership ids".utf8), outputByteCount: 32)
        try identityVerifier(into: &parts)
        parts.grpcServices.append(
            TeamGRPCService(
                directory: TeamDirectory(outbox: outbox, events: events("team_service"), subjectKey: subjectKey)))
    }

    private func buildAudit(into parts: inout Parts) async throws {
        #if Kafka
            let auditStore = try await openAuditStore(into: &parts)
            let operatorStore = try await openDatabase(Outbox.migrations, into: &parts)
            let operatorOutbox = Outbox(store: operatorStore)
            let kafka = try await kafkaProducer(into: &parts)
            parts.services.append(
                OutboxRelay(
                    outbox: operatorOutbox, publisher: KafkaEventPublisher(producer: kafka, topic: topics.audit),
                    logger: logger))
            let deadLetters = KafkaDeadLetterStore(producer: kafka, topic: topics.deadLetters)
            let consumer = try KafkaConsumer(
                configuration: try kafkaConfiguration(), groupID: topics.prefix + "audit", instanceID: instanceID,
                topics: [topics.audit], logger: logger)
            parts.services.append(
                KafkaSubscription(
                    kafka: consumer,
                    consumer: AuditConsumer(store: auditStore, deadLetters: deadLetters, logger: logger),
                    batchSize: Self.kafkaBatch, logger: logger))
            try identityVerifier(into: &parts)
            parts.grpcServices += [
                AuditGRPCService(store: auditStore),
                EventBusGRPCService(outbox: operatorOutbox, deadLetters: deadLetters, logger: logger),
            ]
        #else
            throw RuntimeError.noKafka
        #endif
    }

    private func buildGateway(into parts: inout Parts, endpoints: EndpointsFile) async throws {
        let store = try await openDatabase(gatewayMigrations, into: &parts)
        let secret = try configuration.required(
            "BIZ_GATEWAY_CLIENT_SECRET", "the gateway authenticates to the services with it")
        let clients = try ServiceClients(
            targets: .init(
                identity: try configuration.address(of: "identity"), team: try configuration.address(of: "team"),
                audit: try configuration.address(of: "audit")),
            gatewayClientID: IdentityBootstrap.gatewayClientID, gatewayClientSecret: secret)
        let (gateway, _) = try GatewayAssembly(
            settings: configuration.setting, directory: directory, host: configuration.httpsHost,
            port: configuration.httpsPort, issuer: issuer, logger: logger
        ).build(clients: clients, store: store, endpoints: endpoints)
        parts.services += clients.connections.map { GRPCClientService(client: $0) as any Service } + [gateway]
    }

    // MARK: Shared pieces

    /// `BIZ_MASTER_KEY`, else `<data-dir>/master.key` (give every replica the same one).
    private func masterKey() throws -> MasterKey {
        try MasterKeyFile.load(given: configuration.setting("BIZ_MASTER_KEY"), directory: directory, logger: logger)
    }

    private func events(_ producer: String) -> EventFactory {
        EventFactory(
            producerService: producer, producerServiceID: instanceID,
            environment: configuration.setting("BIZ_ENVIRONMENT") ?? "development")
    }

    /// `BIZ_INSTANCE_ID`, else an id generated on first start and kept in the data directory, so a restarted
    /// replica is the same instance.
    static func instanceID(_ configuration: NodeConfiguration, directory: URL) -> String {
        if let given = configuration.setting("BIZ_INSTANCE_ID") { return given }
        let file = directory.appendingPathComponent("instance-id")
        if let text = try? String(contentsOf: file, encoding: .utf8),
            EventID.isUUID(text.trimmingCharacters(in: .whitespacesAndNewlines))
        {
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let generated = EventID.generate()
        try? Data(generated.utf8).write(to: file, options: .atomic)
        return generated
    }

    /// Verifies tokens with the signing keys the Identity Provider publishes over gRPC.
    private func identityVerifier(into parts: inout Parts) throws {
        let client = try configuration.address(of: "identity").makeClient()
        let identity = Bizretail_Identity_V1_IdentityService.Client(wrapping: client)
        parts.services.append(GRPCClientService(client: client))
        parts.verifier = TokenVerifier(issuer: issuer, audience: BizSystem.audience) {
            try await identity.getSigningKeys(.init()).jwksJson
        }
    }

    /// `BIZ_DATABASE_URL`: `postgres://…` or `sqlite://PATH`; by default `<data-dir>/<service>.sqlite`.
    private func openDatabase(_ migrations: [Migration], into parts: inout Parts) async throws -> any SQLStore {
        let url =
            configuration.setting("BIZ_DATABASE_URL")
            ?? "sqlite://" + directory.appendingPathComponent("\(role.rawValue).sqlite").path
        let store = try await DatabaseURL.open(
            url, migrations: migrations, variable: "BIZ_DATABASE_URL", logger: logger)
        parts.stores.append(store)
        return store
    }

    /// `BIZ_AUDIT_STORE`: `sqlite://PATH`, `postgres://…` or `dynamodb://REGION/TABLE_PREFIX?endpoint=URL`; by
    /// default `BIZ_DATABASE_URL`'s database.
    private func openAuditStore(into parts: inout Parts) async throws -> any AuditStore {
        guard let url = configuration.setting("BIZ_AUDIT_STORE") else {
            return SQLAuditStore(store: try await openDatabase(SQLAuditStore.migrations, into: &parts))
        }
        if url.hasPrefix("dynamodb://") {
            let store = try await DynamoDBAuditStore.open(url: url, environment: configuration.environment)
            parts.services.insert(ClosingService { try? await store.close() }, at: 0)
            return store
        }
        let store = try await DatabaseURL.open(
            url, migrations: SQLAuditStore.migrations, variable: "BIZ_AUDIT_STORE", logger: logger)
        parts.stores.append(store)
        return SQLAuditStore(store: store)
    }

    /// Publishes the outbox to Kafka's `audit` topic.
    private func relay(_ outbox: Outbox, into parts: inout Parts) async throws {
        #if Kafka
            let producer = try await kafkaProducer(into: &parts)
            parts.services.append(
                OutboxRelay(
                    outbox: outbox, publisher: KafkaEventPublisher(producer: producer, topic: topics.audit),
                    batchSize: Self.kafkaBatch, logger: logger))
        #else
            throw RuntimeError.noKafka
        #endif
    }

    /// Records per relay batch and per consumer batch with Kafka: large batches amortise the database statement and
    /// the wait for acknowledgements (see Benchmarks/README.md).
    static let kafkaBatch = 10_000

    /// `audit` and `audit.dlq`, and the audit consumer group, behind `BIZ_KAFKA_TOPIC_PREFIX` when set (several
    /// environments sharing one Kafka cluster).
    var topics: (prefix: String, audit: String, deadLetters: String) {
        let prefix = configuration.setting("BIZ_KAFKA_TOPIC_PREFIX") ?? ""
        return (prefix, prefix + "audit", prefix + "audit.dlq")
    }

    #if Kafka
        private func kafkaConfiguration() throws -> KafkaConfiguration {
            KafkaConfiguration(
                brokers: try configuration.required("BIZ_KAFKA_BROKERS", "events travel through Kafka"),
                clientID: "biz-retail-\(role.rawValue)",
                properties: KafkaConfiguration.extraProperties(from: configuration.environment))
        }

        /// The process's producer, after making sure the platform's topics exist.
        private func kafkaProducer(into parts: inout Parts) async throws -> KafkaProducer {
            let kafka = try kafkaConfiguration()
            let partitions = configuration.setting("BIZ_KAFKA_PARTITIONS").flatMap(Int.init) ?? 6
            let replication = configuration.setting("BIZ_KAFKA_REPLICATION_FACTOR").flatMap(Int.init) ?? 1
            try await KafkaAdmin.ensureTopics(
                [
                    KafkaTopic(name: topics.audit, partitions: partitions, replicationFactor: replication),
                    KafkaTopic(name: topics.deadLetters, partitions: 1, replicationFactor: replication),
                ], configuration: kafka, logger: logger)
            let producer = try KafkaProducer(configuration: kafka, logger: logger)
            // First in the group, so it stops last: the relays hand it their final records before it flushes.
            parts.services.insert(producer, at: 0)
            return producer
        }
    #endif
}

/// Runs `close` when the process shuts down (first in the group, so it closes after everything that uses it).
struct ClosingService: Service {
    var close: @Sendable () async -> Void

    func run() async throws {
        try? await gracefulShutdown()
        await close()
    }
}

extension RuntimeError {
    static let noKafka = RuntimeError(
        "this build has no Kafka support: build with `swift build --traits Kafka` (needs apt-get install librdkafka-dev)"
    )
}

/// Opens the store a database URL names.
enum DatabaseURL {
    static func open(_ url: String, migrations: [Migration], variable: String, logger: Logger) async throws
        -> any SQLStore
    {
        if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
            return try await PostgresStore.open(url: url, migrations: migrations, logger: logger)
        }
        if url.hasPrefix("sqlite://") {
            let path = String(url.dropFirst("sqlite://".count))
            guard !path.isEmpty else { throw RuntimeError("\(variable): sqlite:// needs a file path") }
            return try await SQLiteStore.open(path: path, migrations: migrations, logger: logger)
        }
        throw RuntimeError("\(variable) must start with postgres:// or sqlite://")
    }
}
