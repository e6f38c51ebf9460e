import BizServiceKit
import Logging
import ServiceLifecycle

/// A runnable process: its services in start order (stores, the event log, relays and consumers, gRPC clients and
/// servers, the gateway). Shutdown runs in reverse: the gateway stops taking requests first, stores close last.
public struct BizNode: Sendable {
    public var services: [any Service]

    /// Assembles the process `role` names from the one registry of services (`NodeAssembly`) and runs it until
    /// SIGINT or SIGTERM. Its PostgreSQL pools run in this call's own scope and close after every service stopped.
    public static func run(
        _ configuration: PlatformConfiguration, role: NodeRole, telemetry: Telemetry? = nil, logger: Logger
    ) async throws {
        try await PoolRunner.withPools { pools in
            let node = try await NodeAssembly(
                configuration: configuration, role: role, pools: pools, telemetry: telemetry, logger: logger
            )
            .build()
            logger.info(
                "biz-retail starting",
                metadata: [
                    "data_dir": "\(configuration.dataDirectory)",
                    "mode": "\(role == .embedded ? "embedded" : "distributed")",
                    "service": "\(role.name)",
                ])
            try await node.run(logger: logger)
        }
    }

    /// Runs until SIGINT or SIGTERM, then shuts the services down in reverse order.
    func run(logger: Logger) async throws {
        let group = ServiceGroup(
            configuration: .init(
                services: Self.entries(services),
                gracefulShutdownSignals: [.sigterm, .sigint],
                cancellationSignals: [],
                logger: logger
            )
        )
        try await group.run()
    }

    /// The group's entries for `services`: when one of them throws (a port already in use, say), the others shut
    /// down gracefully in reverse order, as at SIGTERM. The group's default, cancelling them all at once, let a store
    /// close while a consumer's query still ran on its connection (a use after free in SQLite).
    static func entries(_ services: [any Service]) -> [ServiceGroupConfiguration.ServiceConfiguration] {
        services.map { .init(service: $0, failureTerminationBehavior: .gracefullyShutdownGroup) }
    }
}
