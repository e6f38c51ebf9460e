import GRPCCore
import ServiceLifecycle

/// A gRPC client's connections as a `Service`.
public struct GRPCClientService<Transport: ClientTransport>: Service {
    public var client: GRPCClient<Transport>

    public init(client: GRPCClient<Transport>) { self.client = client }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await client.runConnections()
        } onGracefulShutdown: {
            client.beginGracefulShutdown()
        }
    }
}
