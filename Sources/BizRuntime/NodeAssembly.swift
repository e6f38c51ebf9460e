import APIGateway
import BizAuth
import BizFlags
import BizMessaging
import BizOutbox
import BizProtos
import BizServiceKit
import BizStorage
import BizTelemetry
import Foundation
import GRPCCore
import GRPCInProcessTransport
import GRPCNIOTransportHTTP2
import Hummingbird
import IdentityService
import Logging
import ServiceLifecycle
import Synchronization

/// Builds one process from the registry, the same way in both modes. Only three things differ by mode: the
/// transport of calls between services (in-process in the embedded mode, HTTP/2 between processes), the stores
/// (SQLite files, or `BIZ_DATABASE_URL`) and the event log (the durable bus, or Kafka).
struct NodeAssembly {
    var configuration: PlatformConfiguration
    let role: NodeRole
    let pools: PoolRunner
    var telemetry: Telemetry? = nil
    let logger: Logger

    var embedded: Bool { role == .embedded }

    /// The modules this process runs, and whether it runs the gateway.
    func hosted() throws -> (modules: [any ServiceModule.Type], gateway: Bool) {
        switch role {
        case .embedded:
            return (ServiceRegistry.modules, true)
        case .service("gateway"):
            return ([], true)
        case .service(let name):
            guard let module = ServiceRegistry.module(named: name) else {
                throw RuntimeError(
                    "there is no service '\(name)'; one of: " + ServiceRegistry.servable.joined(separator: ", "))
            }
            return ([module], false)
        }
    }

    func build() async throws -> BizNode {
        BizNode(services: try await assemble(listeners: true).process.ordered)
    }

    /// The process's parts; with `listeners` false (the embedded mode only), nothing listens on a socket.
    func assemble(listeners: Bool) async throws -> (
        process: ProcessParts, inProcessClient: GRPCClient<InProcessTransport.Client>?
    ) {
        var configuration = self.configuration
        let (modules, hostsGateway) = try hosted()
        configuration.grpcPort = try FreePort.resolve(configuration.grpcPort, host: configuration.grpcHost)
        configuration.httpsPort = try FreePort.resolve(configuration.httpsPort, host: configuration.httpsHost)
        let directory = try DataDirectory(path: configuration.dataDirectory, logger: logger)
        let masterKey = try directory.masterKey(given: configuration.masterKey)
        if !embedded, configuration.masterKey == nil {
            // Each service's account secret is derived from the master key unless configured: the processes of a
            // deployment must then share it.
            let needed = modules.contains { $0.name == "identity" } ? ServiceRegistry.servable : [role.name]
            let unset = needed.filter { configuration.serviceClientSecrets[$0] == nil }
            if !unset.isEmpty {
                throw RuntimeError(
                    "BIZ_MASTER_KEY (the same on every process) is required to serve \(role.name), or else "
                        + unset.map { ServiceRegistry.variable($0, "CLIENT_SECRET") }.joined(separator: ", ")
                        + ": the services authenticate to each other with their accounts' secrets")
            }
        }
        var flags = FlagSet.empty
        if let read = configuration.flagsAtStart {
            flags = read
        } else if let file = configuration.flagsFile {
            do {
                flags = try FlagFileWatcher.load(file)
            } catch {
                throw RuntimeError("BIZ_FLAGS_FILE \(file) is refused: \(error.description)")
            }
        }
        var process = ProcessParts(
            configuration: configuration, embedded: embedded, pools: pools, directory: directory, masterKey: masterKey,
            endpoints: EndpointsFile(url: directory.file("endpoints.json")), flags: FeatureFlags(flags), logger: logger)
        process.listeners = listeners
        if let telemetry { process.addTelemetry(telemetry) }
        do {
            let inProcessClient = try await assemble(&process, modules: modules, gateway: hostsGateway)
            return (process, inProcessClient)
        } catch {
            await process.resources.closeAll()
            throw error
        }
    }

    private func assemble(_ process: inout ProcessParts, modules: [any ServiceModule.Type], gateway hostsGateway: Bool)
        async throws -> GRPCClient<InProcessTransport.Client>?
    {
        var inProcessClient: GRPCClient<InProcessTransport.Client>?
        if embedded {
            // Every service is in this process: calls between them (and the gateway's) take the in-process
            // transport, with the same clients, interceptors and metadata as over HTTP/2. Not the per-call deadline:
            // grpc-swift enforces one with a timer task on each side, which tripled the cost of an in-process call
            // (Benchmarks/README.md, `biz-bench inprocess-load --deadline`), and an in-process call cannot wait on a
            // network; the stores bound their own waits (SQLite's busy timeout, PostgreSQL's lease timeout).
            let transport = InProcessTransport(serviceConfig: ServiceConfig())
            let client = GRPCClient(transport: transport.client, interceptors: [ClientTracingInterceptor()])
            inProcessClient = client
            try await process.assemble(modules, gateway: hostsGateway, connect: { _ in client })
            process.clients.append(GRPCClientService(client: client))
            if !process.grpcServices.isEmpty {
                process.servers.append(
                    GRPCServerService(
                        transport: transport.server, services: process.grpcServices,
                        interceptors: process.interceptors(),
                        onShutdown: { [health = process.health] in health?.shutDown() }))
            }
        } else {
            let pool = ClientPool(configuration: process.configuration)
            try await process.assemble(modules, gateway: hostsGateway, connect: pool.client(of:))
            process.clients += pool.clients.map { GRPCClientService(client: $0) }
        }
        try process.addHTTP2Server(name: role.name)
        return inProcessClient
    }
}
