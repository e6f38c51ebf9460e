import BizServiceKit
import Logging
import ServiceLifecycle

/// A runnable process: its services in start order (stores, the event log, relays and consumers, gRPC clients and
/// servers, the gateway). Shutdown runs in reverse: the gateway stops taking requests first, stores close last.
public struct BizNode: Sendable {
    public var services: [any Service]

    /// Assembles the process `role` names from the one registry of services (`NodeAssembly`).
    public static func assemble(_ configuration: PlatformConfiguration, role: NodeRole, logger: Logger)
        async throws -> BizNode
    {
        try await NodeAssembly(configuration: configuration, role: role, logger: logger).build()
    }

    /// Runs until SIGINT or SIGTERM, then shuts the services down in reverse order.
    public func run(logger: Logger) async throws {
        let group = ServiceGroup(
            configuration: .init(
                services: services.map { .init(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                cancellationSignals: [],
                logger: logger
            )
        )
        try await group.run()
    }
}
