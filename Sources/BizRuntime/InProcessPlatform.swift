import APIGateway
import BizServiceKit
import GRPCCore
import GRPCInProcessTransport
import Hummingbird
import Logging
import ServiceLifecycle

/// Every service of the registry in this process with nothing listening on a socket: the embedded mode's assembly,
/// reached through the in-process gRPC transport and the gateway's router. For tests of the services and the gateway
/// (`app.test(.router)`) that need the real services without starting the executable.
public struct InProcessPlatform {
    /// Stores, the event bus, relays, consumers and the in-process gRPC server and client, in start order.
    public let services: [any Service]
    /// A client of every service over the in-process transport (as the gateway calls them).
    public let client: GRPCClient<InProcessTransport.Client>
    /// The gateway's routes over that client.
    public let router: Router<GatewayContext>

    /// Assembles every service of the registry over `configuration` (its data directory; SQLite, or PostgreSQL with
    /// a database URL), runs them while `body` runs, then shuts them down in reverse order.
    public static func run<T: Sendable>(
        _ configuration: PlatformConfiguration, logger: Logger, _ body: (InProcessPlatform) async throws -> T
    ) async throws -> T {
        try await PoolRunner.withPools { pools in
            let (process, client) = try await NodeAssembly(
                configuration: configuration, role: .embedded, pools: pools, logger: logger
            ).assemble(listeners: false)
            guard let client, let router = process.router else {
                throw RuntimeError("the embedded assembly is incomplete")
            }
            let platform = InProcessPlatform(services: process.ordered, client: client, router: router)
            let group = ServiceGroup(
                configuration: .init(services: BizNode.entries(platform.services), logger: logger))
            return try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                do {
                    let result = try await body(platform)
                    await group.triggerGracefulShutdown()
                    try await tasks.waitForAll()
                    return result
                } catch {
                    await group.triggerGracefulShutdown()
                    try? await tasks.waitForAll()
                    throw error
                }
            }
        }
    }
}
