import APIGateway
import BizAuth
import BizFlags
import BizMessaging
import BizOutbox
import BizProtos
import BizServiceKit
import BizStorage
import BizTelemetry
import ClientContractorService
import Foundation
import GRPCCore
import GRPCInProcessTransport
import GRPCNIOTransportHTTP2
import Hummingbird
import IdentityService
import Logging
import ServiceLifecycle
import Synchronization

/// The parts of a process while it is assembled, by their place in the `ServiceGroup`.
struct ProcessParts {
    let configuration: PlatformConfiguration
    let embedded: Bool
    let pools: PoolRunner
    let directory: DataDirectory
    let masterKey: MasterKey
    /// Every service's account; this process's services authenticate with theirs.
    let accounts: [ServiceAccount]
    let endpoints: EndpointsFile
    /// The process's feature flags, kept in step with `BIZ_FLAGS_FILE` by a watcher among the workers.
    let flags: FeatureFlags
    let logger: Logger
    /// Telemetry (exporters, the log shipper, the metrics listener): started before everything, stopped after.
    var telemetry: [any Service] = []
    /// Stores and other resources: started first, closed last.
    let resources = ResourceList()
    /// The event log's own services (the Kafka producer): stopped after the relays that feed it.
    var eventLog: [any Service] = []
    /// Outbox relays, subscriptions and the modules' background work.
    var workers: [any Service] = []
    var clients: [any Service] = []
    var servers: [any Service] = []
    var front: [any Service] = []
    var grpcServices: [any RegistrableRPCService] = []
    /// `grpc.health.v1` on this process's servers, when it hosts services.
    var health: HealthService?
    var access = AccessRules()
    /// The module serving each fully qualified gRPC service: the audience a service token must carry to call it.
    var receivers: [String: String] = [:]
    /// False for a process that only the in-process transport reaches (tests): no HTTP/2 server, no HTTPS listener.
    var listeners = true
    /// The gateway's routes, when the process runs the gateway.
    var router: Router<GatewayContext>?
    let keys: SigningKeySource
    /// One verifier for the whole process: a token the gateway verified is not verified again by the service.
    let verifier: TokenVerifier
    /// What takes a rotated secret while the process runs (``SecretRotation``, among the workers).
    let secretRotation = SecretRotationHooks()

    init(
        configuration: PlatformConfiguration, embedded: Bool, pools: PoolRunner, directory: DataDirectory,
        masterKey: MasterKey, endpoints: EndpointsFile, flags: FeatureFlags = FeatureFlags(), logger: Logger
    ) {
        self.configuration = configuration
        self.embedded = embedded
        self.pools = pools
        self.directory = directory
        self.masterKey = masterKey
        self.accounts = ServiceRegistry.accounts(configuration, masterKey: masterKey)
        self.endpoints = endpoints
        self.flags = flags
        self.logger = logger
        if let file = configuration.flagsFile {
            workers.append(
                FlagFileWatcher(
                    path: file, flags: flags, interval: .milliseconds(configuration.flagsPollMilliseconds),
                    logger: logger))
        }
        workers.append(SecretRotation(configuration: configuration, hooks: secretRotation, logger: logger))
        let keys = SigningKeySource()
        self.keys = keys
        self.verifier = TokenVerifier(
            issuer: configuration.effectiveIssuer, audience: PlatformConfiguration.audience,
            externalIssuers: configuration.externalIssuers, fetch: IssuerDocuments.fetch
        ) { try await keys.jwks() }
    }

    var ordered: [any Service] { telemetry + resources.all + eventLog + workers + clients + servers + front }

    /// The same on every server of the process, whatever its transport: authentication first, then the storage
    /// errors' translation.
    func interceptors() -> [any ServerInterceptor] {
        [
            ServerTelemetryInterceptor(logger: logger),
            AuthInterceptor(
                verifier: verifier, receivers: receivers, publicMethods: access.publicMethods,
                requiredRoles: access.requiredRoles, platformOnly: access.platformOnly,
                methodScopes: access.methodScopes, logger: logger),
            StorageErrorInterceptor(),
        ]
    }

    /// The process's telemetry services, and the `/metrics` listener when metrics are on and the process listens.
    mutating func addTelemetry(_ telemetry: Telemetry) {
        self.telemetry += telemetry.services
        let port = configuration.telemetry.metricsPort
        guard listeners, port != 0, let registry = telemetry.registry else { return }
        let endpoints = self.endpoints
        self.telemetry.append(
            ListenerService(
                base: MetricsListener.make(
                    port: port, registry: registry, processMetrics: telemetry.processMetrics, logger: logger,
                    onListening: { port in await endpoints.record("metrics", "http://127.0.0.1:\(port)/metrics") }),
                what: "metrics", address: "127.0.0.1:\(port)"))
    }

    /// Opens a database: `url`, else `BIZ_DATABASE_URL`, else `<data-dir>/<name>.sqlite`.
    func openDatabase(named name: String, migrations: [Migration]) async throws -> any SQLStore {
        let url = configuration.databaseURL?.value ?? "sqlite://" + directory.file("\(name).sqlite").path
        return try await open(url, migrations: migrations, setting: "BIZ_DATABASE_URL")
    }

    func open(_ url: String, migrations: [Migration], setting: String) async throws -> any SQLStore {
        try await Self.open(
            url, migrations: migrations, setting: setting, resources: resources, pools: pools,
            rotation: secretRotation, logger: logger)
    }

    /// Opens a store the process owns: it closes at shutdown, after everything that uses it. A PostgreSQL pool
    /// takes the new credentials of a rotated `setting` for its new connections.
    static func open(
        _ url: String, migrations: [Migration], setting: String, resources: ResourceList, pools: PoolRunner,
        rotation: SecretRotationHooks, logger: Logger
    ) async throws -> any SQLStore {
        let store = try await DatabaseURL.open(
            url, migrations: migrations, setting: setting, pools: pools, logger: logger)
        resources.append(ClosingService(store: store))
        if let postgres = store as? PostgresStore {
            rotation.on(setting) { secret in
                do {
                    try postgres.reconnect(url: secret.value)
                } catch {
                    logger.error(
                        "a rotated database URL is refused; the pool keeps its credentials until the next start",
                        metadata: ["setting": "\(setting)", "error": "\(error)"])
                }
            }
        }
        return store
    }

    /// Assembles `modules` (and the gateway) with gRPC clients from `connect`.
    mutating func assemble<Transport: ClientTransport>(
        _ modules: [any ServiceModule.Type], gateway: Bool, connect: (String) throws -> GRPCClient<Transport>
    ) async throws {
        let identity = Bizretail_Identity_V1_IdentityService.Client(wrapping: try connect("identity"))
        keys.set { try await identity.getSigningKeys(.init()).jwksJson }
        // One identity per service of the process, each with its own token.
        let hosted = modules.map { $0.name } + (gateway ? ["gateway"] : [])
        let identities = Dictionary(
            uniqueKeysWithValues: accounts.filter { hosted.contains($0.service) }.map { account in
                (account.service, ServiceIdentity(account: account) { try await identity.issueToken($0) })
            })
        if !modules.isEmpty {
            try await assembleModules(modules, identities: identities) { module in
                ServiceConnections(
                    try Dictionary(uniqueKeysWithValues: module.dependencies.map { ($0, try connect($0)) }))
            }
        }
        if gateway {
            try await assembleGateway(connect: connect, identity: identities["gateway"]!)
        }
        // A configured account secret that rotates: asked with from now on, the previous one kept to fall back on.
        let grace = Duration.seconds(configuration.secretsGraceSeconds)
        for (service, identity) in identities where configuration.serviceClientSecrets[service] != nil {
            secretRotation.on(identity.account.secretVariable) { secret in
                identity.rotate(to: secret.value, keepingPreviousFor: grace)
            }
        }
        // An external issuer's token names a tenant: the process asks the Client Contractor service (as its gateway,
        // else as its first service) whether it exists, so each service refuses a token of an unknown tenant too.
        if !configuration.externalIssuers.isEmpty, let own = identities[gateway ? "gateway" : hosted[0]] {
            let tenants = Bizretail_Contractor_V1_TenantService.Client(wrapping: try connect(ContractorModule.name))
            verifier.checkTenants { tenant in try await Self.tenantExists(tenant, tenants: tenants, as: own) }
        }
    }

    /// Whether the tenant exists, asked as the service itself.
    static func tenantExists<Transport: ClientTransport>(
        _ tenant: String, tenants: Bizretail_Contractor_V1_TenantService.Client<Transport>, as identity: ServiceIdentity
    ) async throws -> Bool {
        do {
            _ = try await tenants.getTenant(
                .with { $0.tenantID = tenant }, metadata: try await identity.metadata(onBehalfOf: nil),
                options: ServiceConnections.nestedCall)
            return true
        } catch let error as RPCError where error.code == .notFound {
            return false
        }
    }

    private mutating func assembleModules(
        _ modules: [any ServiceModule.Type], identities: [String: ServiceIdentity],
        connections: (any ServiceModule.Type) throws -> ServiceConnections
    ) async throws {
        let instanceID = directory.instanceID(given: configuration.instanceID)
        let log: EventLog
        if embedded {
            log = .bus(store: try await openDatabase(named: "bus", migrations: DurableBus.migrations), logger: logger)
        } else {
            log = try await .kafka(
                configuration, clientID: "biz-retail-\(modules.map { $0.name }.joined(separator: "-"))",
                instanceID: instanceID, logger: logger)
        }
        eventLog += log.services
        for module in modules {
            let store = try await openDatabase(named: module.name, migrations: module.migrations)
            let outbox = Outbox(store: store)
            let (resources, pools, logger, rotation) = (self.resources, self.pools, self.logger, secretRotation)
            var context = ServiceContext(
                configuration: configuration, database: store, outbox: outbox,
                events: EventFactory(
                    producerService: module.producerService, producerServiceID: instanceID,
                    environment: configuration.environmentName,
                    serviceOwnerID: ServiceAccount.publicID(of: module.name)),
                masterKey: masterKey, verifier: verifier, deadLetters: log.deadLetters,
                openDatabase: { url, migrations, setting in
                    try await Self.open(
                        url, migrations: migrations, setting: setting, resources: resources, pools: pools,
                        rotation: rotation, logger: logger)
                },
                connections: try connections(module), identity: identities[module.name]!,
                serviceAccounts: accounts,
                onShutdown: { close in resources.append(ClosingService(close: close)) }, flags: flags,
                logger: logger.with("service", module.name))
            context.secretRotation = secretRotation
            let parts = try await module.assemble(context)
            workers.append(
                OutboxRelay(
                    outbox: outbox, publisher: log.publisher, batchSize: log.relayBatchSize,
                    fault: relayFault(for: module), name: module.name, logger: logger))
            workers += parts.background
            workers += try parts.subscriptions.map { try log.subscribe($0.consumer) }
            grpcServices += parts.grpcServices
            var router = RPCRouter<InProcessTransport.Server>()
            for service in parts.grpcServices { service.registerMethods(with: &router) }
            for method in router.methods { receivers[method.service.fullyQualifiedService] = module.name }
            access = access.merging(module.access)
            if let signingKeys = parts.signingKeys { keys.set(signingKeys) }
        }
        let health = HealthService(services: modules.map { $0.probe.service.fullyQualifiedService })
        self.health = health
        grpcServices.append(health)
        access.publicMethods.formUnion(HealthService.publicMethods)
    }

    /// `BIZ_TEST_RELAY_FAULT` acts on the relay of operator-published events (the Audit service's outbox) only, so
    /// the tests that use it control exactly which events are held or re-published.
    private func relayFault(for module: any ServiceModule.Type) -> OutboxRelay.Fault? {
        guard module.name == "audit", let fault = configuration.testRelayFault else { return nil }
        logger.warning("test fault enabled on the outbox relay", metadata: ["fault": "\(fault)"])
        return OutboxRelay.Fault(rawValue: fault)
    }

    private mutating func assembleGateway<Transport: ClientTransport>(
        connect: (String) throws -> GRPCClient<Transport>, identity: ServiceIdentity
    ) async throws {
        let store = try await openDatabase(named: "gateway", migrations: gatewayMigrations)
        let clients = try ServiceClients(
            connection: connect,
            probes: try ServiceRegistry.modules.map { module in
                ServiceProbe(
                    name: module.name, service: module.probe.service.fullyQualifiedService,
                    client: try connect(module.name))
            }, identity: identity)
        let settings = configuration.gateway
        let tls = try TLSFiles.resolve(
            certificate: settings.tlsCertificate, privateKey: settings.tlsPrivateKey, directory: directory.url)
        let endpoints = self.endpoints
        let host = configuration.httpsHost
        var gateway = GatewayConfiguration(
            host: host, port: configuration.httpsPort, issuer: configuration.effectiveIssuer, tls: tls,
            trustedProxies: settings.trustedProxies)
        gateway.handshakeTimeout = .seconds(settings.handshakeTimeout)
        gateway.idleTimeout = .seconds(settings.idleTimeout)
        gateway.maximumConnections = settings.maximumConnections
        let router = buildRouter(
            gateway, clients: clients, verifier: verifier, store: store, flags: flags, logger: logger)
        self.router = router
        guard listeners else { return }
        front.append(
            ListenerService(
                base: try serveGateway(
                    gateway, router: router, logger: logger,
                    onListening: { port in await endpoints.record("https", "https://\(host):\(port)") }),
                what: "HTTPS", address: "\(host):\(configuration.httpsPort)"))
    }

    /// The process's gRPC services over HTTP/2, for other processes and the operator CLI: mutual TLS when
    /// configured (a client needs a certificate the deployment's CA signed); plaintext only on a loopback address,
    /// unless explicitly allowed.
    mutating func addHTTP2Server(name: String) throws {
        guard listeners, !grpcServices.isEmpty else { return }
        let security: HTTP2ServerTransport.Posix.TransportSecurity
        if let tls = configuration.grpcTLS {
            security = .mTLS(
                certificateChain: [.file(path: tls.certificate, format: .pem)],
                privateKey: .file(path: tls.privateKey, format: .pem)
            ) { configuration in
                configuration.trustRoots = .certificates([.file(path: tls.certificateAuthority, format: .pem)])
                configuration.clientCertificateVerification = .noHostnameVerification
            }
        } else {
            let loopback = configuration.grpcHost == "localhost" || configuration.grpcHost.hasPrefix("127.")
            guard loopback || configuration.grpcPlaintext else {
                throw RuntimeError(
                    "refusing to serve plaintext gRPC on \(configuration.grpcHost): set BIZ_GRPC_TLS_CERT, "
                        + "BIZ_GRPC_TLS_KEY and BIZ_GRPC_TLS_CA (biz-retail certs makes them), or BIZ_GRPC_PLAINTEXT=true "
                        + "on a network you trust")
            }
            security = .plaintext
        }
        let transport = HTTP2ServerTransport.Posix(
            address: .ipv4(host: configuration.grpcHost, port: configuration.grpcPort), transportSecurity: security)
        let (endpoints, logger, host) = (self.endpoints, self.logger, configuration.grpcHost)
        servers.append(
            ListenerService(
                base: GRPCServerService(
                    transport: transport, services: grpcServices, interceptors: interceptors(),
                    onServing: {
                        guard let address = try await transport.listeningAddress.ipv4 else { return }
                        logger.info(
                            "gRPC listening", metadata: ["server": "\(name)", "address": "\(host):\(address.port)"])
                        await endpoints.record("grpc", "\(host):\(address.port)")
                    }, onShutdown: { [health] in health?.shutDown() }),
                what: "gRPC", address: "\(host):\(configuration.grpcPort)"))
    }
}
