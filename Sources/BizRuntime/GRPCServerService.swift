import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import ServiceLifecycle

/// A gRPC server over HTTP/2 as a `Service`: logs where it listens, drains in-flight calls on graceful shutdown.
public struct GRPCServerService: Service {
    public var server: GRPCServer<HTTP2ServerTransport.Posix>
    let transport: HTTP2ServerTransport.Posix
    public var name: String
    public var logger: Logger
    /// Called with the bound port once the server listens (port 0 picks a free one).
    public var onListening: @Sendable (Int) async -> Void

    public init(
        host: String, port: Int, services: [any RegistrableRPCService],
        interceptors: [any ServerInterceptor] = [], name: String, logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        let transport = HTTP2ServerTransport.Posix(
            address: .ipv4(host: host, port: port), transportSecurity: .plaintext
        )
        self.transport = transport
        self.server = GRPCServer(transport: transport, services: services, interceptors: interceptors)
        self.name = name
        self.logger = logger
        self.onListening = onListening
    }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await server.serve() }
                if let address = try await transport.listeningAddress.ipv4 {
                    logger.info(
                        "gRPC listening", metadata: ["server": "\(name)", "address": "\(address.host):\(address.port)"]
                    )
                    await onListening(address.port)
                }
            }
        } onGracefulShutdown: {
            server.beginGracefulShutdown()
        }
    }
}
