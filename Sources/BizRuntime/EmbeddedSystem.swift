import AuditService
import BizEvents
import BizMessaging
import BizOutbox
import BizStorage
import Foundation
import Logging
import ServiceLifecycle

/// Configuration of the embedded mode: every service in one process, state in one data directory.
public struct EmbeddedConfiguration: Sendable {
    public var dataDirectory: String
    public var grpcHost: String
    /// 0 picks a free port (written to `<data-dir>/endpoints.json`).
    public var grpcPort: Int
    /// Test-only fault for the operator outbox relay (`BIZ_TEST_RELAY_FAULT`).
    public var relayFault: OutboxRelay.Fault?

    public init(
        dataDirectory: String = "./.biz-retail", grpcHost: String = "127.0.0.1", grpcPort: Int = 50051,
        relayFault: OutboxRelay.Fault? = nil
    ) {
        self.dataDirectory = dataDirectory
        self.grpcHost = grpcHost
        self.grpcPort = grpcPort
        self.relayFault = relayFault
    }
}

/// Startup failures an operator can act on.
public struct RuntimeError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The embedded system: opened stores and the services that run over them, in start order.
public struct EmbeddedSystem: Sendable {
    public var services: [any Service]
    public var stores: [any SQLStore]

    /// Opens (creating) the data directory and its databases, and builds every service.
    public static func build(_ configuration: EmbeddedConfiguration, logger: Logger) async throws -> EmbeddedSystem {
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

        let bus = DurableBus(store: busStore)
        let operatorOutbox = Outbox(store: operatorStore)
        let audit = SQLAuditStore(store: auditStore)
        let endpointsFile = directory.appendingPathComponent("endpoints.json")
        let host = configuration.grpcHost

        let services: [any Service] = [
            OutboxRelay(outbox: operatorOutbox, publisher: bus, fault: configuration.relayFault, logger: logger),
            BusSubscription(
                bus: bus, consumer: AuditConsumer(store: audit, deadLetters: bus, logger: logger), logger: logger
            ),
            GRPCServerService(
                host: host, port: configuration.grpcPort,
                services: [
                    AuditGRPCService(store: audit),
                    EventBusGRPCService(outbox: operatorOutbox, deadLetters: bus, logger: logger),
                ],
                name: "services", logger: logger,
                onListening: { port in
                    let endpoints = #"{"grpc":"\#(host):\#(port)"}"# + "\n"
                    try? Data(endpoints.utf8).write(to: endpointsFile, options: .atomic)
                }
            ),
        ]
        return EmbeddedSystem(services: services, stores: [busStore, auditStore, operatorStore])
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

/// The relay faults the CLI accepts, re-exported so the executable need not import the outbox module.
public typealias OutboxRelayFault = OutboxRelay.Fault
