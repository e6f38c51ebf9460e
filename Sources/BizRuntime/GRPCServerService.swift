import GRPCCore
import Logging
import ServiceLifecycle

/// A gRPC server as a `Service`, over HTTP/2 or the in-process transport: drains in-flight calls on graceful
/// shutdown.
public struct GRPCServerService<Transport: ServerTransport>: Service {
    public var server: GRPCServer<Transport>
    /// Runs once the server serves (logs and records where it listens).
    var onServing: @Sendable () async throws -> Void
    /// Runs when graceful shutdown begins, before in-flight calls are drained (health turns NOT_SERVING).
    var onShutdown: @Sendable () -> Void

    public init(
        transport: Transport, services: [any RegistrableRPCService], interceptors: [any ServerInterceptor] = [],
        onServing: @escaping @Sendable () async throws -> Void = {}, onShutdown: @escaping @Sendable () -> Void = {}
    ) {
        self.server = GRPCServer(transport: transport, services: services, interceptors: interceptors)
        self.onServing = onServing
        self.onShutdown = onShutdown
    }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await server.serve() }
                do {
                    try await onServing()
                } catch {
                    // The server stopped before it listened (its address is taken, say): serve() throws why, and
                    // that is the error the group ends with, not this one ("no listening address bound").
                }
            }
        } onGracefulShutdown: {
            onShutdown()
            server.beginGracefulShutdown()
        }
    }
}
