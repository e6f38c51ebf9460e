import APIGateway
import AuditService
import BizAuth
import BizEvents
import BizMessaging
import BizOutbox
import BizProtos
import BizStorage
import Crypto
import Foundation
import IdentityService
import Logging
import ServiceLifecycle
import TeamService

/// Configuration of the embedded mode: every service in one process, state in one data directory.
public struct EmbeddedConfiguration: Sendable {
    public var dataDirectory: String
    public var grpcHost: String
    /// 0 picks a free port (written to `<data-dir>/endpoints.json`).
    public var grpcPort: Int
    public var httpsHost: String
    /// 0 picks a free port (written to `<data-dir>/endpoints.json`).
    public var httpsPort: Int
    /// The process environment (`BIZ_*` settings: master key, bootstrap credentials, TLS files, trusted proxies).
    public var environment: [String: String]
    /// Test-only fault for the operator outbox relay (`BIZ_TEST_RELAY_FAULT`).
    public var relayFault: OutboxRelay.Fault?

    public init(
        dataDirectory: String = "./.biz-retail", grpcHost: String = "127.0.0.1", grpcPort: Int = 50051,
        httpsHost: String = "127.0.0.1", httpsPort: Int = 8443, environment: [String: String] = [:],
        relayFault: OutboxRelay.Fault? = nil
    ) {
        self.dataDirectory = dataDirectory
        self.grpcHost = grpcHost
        self.grpcPort = grpcPort
        self.httpsHost = httpsHost
        self.httpsPort = httpsPort
        self.environment = environment
        self.relayFault = relayFault
    }

    func setting(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
}

/// Startup failures an operator can act on.
public struct RuntimeError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The relay faults the CLI accepts, re-exported so the executable need not import the outbox module.
public typealias OutboxRelayFault = OutboxRelay.Fault

/// A runnable system: opened stores and the services that run over them, in start order. The embedded mode is one
/// system with every service; the distributed mode runs one per process (`ServiceNode`).
public struct BizSystem: Sendable {
    public var services: [any Service]
    public var stores: [any SQLStore]

    /// Opens (creating) the data directory and its databases, bootstraps identity, and builds every service.
    public static func embedded(_ given: EmbeddedConfiguration, logger: Logger) async throws -> BizSystem {
        var resolved = given
        resolved.grpcPort = try FreePort.resolve(given.grpcPort, host: given.grpcHost)
        resolved.httpsPort = try FreePort.resolve(given.httpsPort, host: given.httpsHost)
        let configuration = resolved
        let directory = URL(fileURLWithPath: configuration.dataDirectory, isDirectory: true)
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw RuntimeError("cannot create the data directory \(directory.path): \(error.localizedDescription)")
        }
        func open(_ name: String, _ migrations: [Migration]) async throws -> SQLiteStore {
            try await SQLiteStore.open(
                path: directory.appendingPathComponent(name).path, migrations: migrations, logger: logger
            )
        }
        let busStore = try await open("bus.sqlite", DurableBus.migrations)
        let auditStore = try await open("audit.sqlite", SQLAuditStore.migrations)
        let operatorStore = try await open("operator.sqlite", Outbox.migrations)
        let identityStore = try await open("identity.sqlite", IdentitySchema.migrations)
        let teamStore = try await open("team.sqlite", TeamSchema.migrations)
        let gatewayStore = try await open("gateway.sqlite", gatewayMigrations)

        let instanceID = EventID.generate()
        let environmentName = configuration.setting("BIZ_ENVIRONMENT") ?? "development"
        func events(_ producer: String) -> EventFactory {
            EventFactory(producerService: producer, producerServiceID: instanceID, environment: environmentName)
        }
        let masterKey = try MasterKeyFile.load(
            given: configuration.setting("BIZ_MASTER_KEY"), directory: directory, logger: logger)
        let issuer = configuration.setting("BIZ_ISSUER") ?? "https://localhost:\(configuration.httpsPort)"
        let audience = BizSystem.audience

        let bus = DurableBus(store: busStore)
        let operatorOutbox = Outbox(store: operatorStore)
        let identityOutbox = Outbox(store: identityStore)
        let teamOutbox = Outbox(store: teamStore)
        let audit = SQLAuditStore(store: auditStore)

        let identityDirectory = IdentityDirectory(
            outbox: identityOutbox, events: events("identity_service"),
            bcryptCost: UInt8(configuration.setting("BIZ_BCRYPT_COST").flatMap(UInt8.init) ?? 12)
        )
        let signingKeys = SigningKeyStore(store: identityStore, masterKey: masterKey)
        let tokenIssuer = TokenIssuer(
            directory: identityDirectory, keys: signingKeys, issuer: issuer, audience: audience)
        let bootstrap = IdentityBootstrap(directory: identityDirectory, dataDirectory: directory, logger: logger)
        try await bootstrap.run(.fromEnvironment(configuration.environment))
        let gatewaySecret = try await bootstrap.gatewaySecret()

        let subjectKey = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: masterKey.key, info: Data("biz-retail ownership ids".utf8), outputByteCount: 32
        )
        let teams = TeamDirectory(outbox: teamOutbox, events: events("team_service"), subjectKey: subjectKey)

        let clients = try ServiceClients(
            targets: .all(
                at: ServiceAddress(
                    host: configuration.grpcHost == "0.0.0.0" ? "127.0.0.1" : configuration.grpcHost,
                    port: configuration.grpcPort)),
            gatewayClientID: IdentityBootstrap.gatewayClientID,
            gatewayClientSecret: gatewaySecret
        )
        let endpoints = EndpointsFile(url: directory.appendingPathComponent("endpoints.json"))
        let (gateway, verifier) = try GatewayAssembly(
            settings: configuration.setting, directory: directory, host: configuration.httpsHost,
            port: configuration.httpsPort, issuer: issuer, logger: logger
        ).build(clients: clients, store: gatewayStore, endpoints: endpoints)
        let interceptor = AuthInterceptor.platform(verifier: verifier, logger: logger)
        let grpcHost = configuration.grpcHost

        let services: [any Service] =
            [
                OutboxRelay(outbox: operatorOutbox, publisher: bus, fault: configuration.relayFault, logger: logger),
                OutboxRelay(outbox: identityOutbox, publisher: bus, logger: logger),
                OutboxRelay(outbox: teamOutbox, publisher: bus, logger: logger),
                BusSubscription(
                    bus: bus, consumer: AuditConsumer(store: audit, deadLetters: bus, logger: logger), logger: logger
                ),
                GRPCServerService(
                    host: grpcHost, port: configuration.grpcPort,
                    services: [
                        AuditGRPCService(store: audit),
                        EventBusGRPCService(outbox: operatorOutbox, deadLetters: bus, logger: logger),
                        IdentityGRPCService(issuer: tokenIssuer, directory: identityDirectory),
                        TeamGRPCService(directory: teams),
                    ],
                    interceptors: [interceptor], name: "services", logger: logger,
                    onListening: { port in await endpoints.record("grpc", "\(grpcHost):\(port)") }
                ),
            ] + clients.connections.map { GRPCClientService(client: $0) as any Service } + [gateway]
        return BizSystem(
            services: services,
            stores: [busStore, auditStore, operatorStore, identityStore, teamStore, gatewayStore]
        )
    }

    /// Runs until SIGINT or SIGTERM, then shuts the services down in reverse order and closes the stores.
    public func run(logger: Logger) async throws {
        let group = ServiceGroup(
            configuration: .init(
                services: services.map { .init(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                cancellationSignals: [],
                logger: logger
            )
        )
        do {
            try await group.run()
        } catch {
            for store in stores { try? await store.close() }
            throw error
        }
        for store in stores { try? await store.close() }
    }
}

extension AuthInterceptor {
    /// The platform's rules: identity's public methods, and the audit and event-bus APIs for platform admins only.
    static func platform(verifier: TokenVerifier, logger: Logger) -> AuthInterceptor {
        AuthInterceptor(
            verifier: verifier, publicMethods: IdentityGRPCService.publicMethods,
            requiredRoles: [
                Bizretail_Audit_V1_AuditService.descriptor.fullyQualifiedService: ["admin"],
                Bizretail_Events_V1_EventBus.descriptor.fullyQualifiedService: ["admin"],
            ],
            platformOnly: [
                Bizretail_Audit_V1_AuditService.descriptor.fullyQualifiedService,
                Bizretail_Events_V1_EventBus.descriptor.fullyQualifiedService,
            ],
            logger: logger
        )
    }
}

/// The HTTPS API gateway over the services' gRPC clients, configured from the environment (`BIZ_TLS_CERT`,
/// `BIZ_TLS_KEY`, `BIZ_TRUSTED_PROXIES`); the same in both modes.
struct GatewayAssembly {
    var settings: (String) -> String?
    var directory: URL
    var host: String
    var port: Int
    var issuer: String
    var logger: Logger

    /// The gateway, and the token verifier it uses (the Identity Provider's keys, fetched over gRPC).
    func build(clients: ServiceClients, store: any SQLStore, endpoints: EndpointsFile) throws
        -> (any Service, TokenVerifier)
    {
        let verifier = TokenVerifier(issuer: issuer, audience: BizSystem.audience) {
            try await clients.identity.getSigningKeys(.init()).jwksJson
        }
        let tls = try TLSFiles.resolve(
            certificate: settings("BIZ_TLS_CERT"), privateKey: settings("BIZ_TLS_KEY"), directory: directory)
        let trustedProxies = Set(
            (settings("BIZ_TRUSTED_PROXIES") ?? "").split(separator: ",").map {
                $0.trimmingCharacters(in: .whitespaces)
            }.filter { !$0.isEmpty })
        let host = self.host
        let gateway = try buildGateway(
            GatewayConfiguration(host: host, port: port, issuer: issuer, tls: tls, trustedProxies: trustedProxies),
            clients: clients, verifier: verifier, store: store, logger: logger,
            onListening: { port in await endpoints.record("https", "https://\(host):\(port)") })
        return (gateway, verifier)
    }
}

/// `<data-dir>/endpoints.json`: where the running system listens, for the CLI and tests.
actor EndpointsFile {
    let url: URL
    var entries: [String: JSONValue] = [:]

    init(url: URL) {
        self.url = url
        try? FileManager.default.removeItem(at: url)
    }

    func record(_ key: String, _ value: String) {
        entries[key] = .string(value)
        try? Data(JSONValue.object(entries).canonicalBytes()).write(to: url, options: .atomic)
    }
}

/// The master key that seals signing keys: `BIZ_MASTER_KEY` (base64, 32 bytes), else `<data-dir>/master.key`
/// (generated on first start, mode 0600).
enum MasterKeyFile {
    static func load(given: String?, directory: URL, logger: Logger) throws -> MasterKey {
        if let given {
            guard let key = MasterKey(base64: given) else {
                throw RuntimeError("BIZ_MASTER_KEY must be 32 bytes, base64-encoded")
            }
            return key
        }
        let file = directory.appendingPathComponent("master.key")
        if let text = try? String(contentsOf: file, encoding: .utf8) {
            guard let key = MasterKey(base64: text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw RuntimeError("\(file.path) does not hold a valid master key")
            }
            return key
        }
        let key = MasterKey.generate()
        _ = FileManager.default.createFile(
            atPath: file.path, contents: Data(key.base64.utf8), attributes: [.posixPermissions: 0o600]
        )
        logger.notice(
            "master key generated; set BIZ_MASTER_KEY to manage it yourself", metadata: ["file": "\(file.path)"])
        return key
    }
}
