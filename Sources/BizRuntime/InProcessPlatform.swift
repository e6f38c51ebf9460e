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

    public static func assemble(_ configuration: PlatformConfiguration, logger: Logger) async throws
        -> InProcessPlatform
    {
        let (process, client) = try await NodeAssembly(configuration: configuration, role: .embedded, logger: logger)
            .assemble(listeners: false)
        guard let client, let router = process.router else { throw RuntimeError("the embedded assembly is incomplete") }
        return InProcessPlatform(services: process.ordered, client: client, router: router)
    }

    /// Runs the services while `body` runs, then shuts them down in reverse order.
    public func run<T: Sendable>(logger: Logger, _ body: () async throws -> T) async throws -> T {
        let group = ServiceGroup(
            configuration: .init(services: services.map { .init(service: $0) }, logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            do {
                let result = try await body()
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
