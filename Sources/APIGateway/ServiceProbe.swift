import BizProtos
import GRPCCore

/// A readiness probe of one service: `grpc.health.v1.Health/Check` of its service name, without credentials.
/// SERVING means ready; NOT_SERVING (shutting down), an unknown service, UNAVAILABLE or a timeout mean not.
public struct ServiceProbe<Transport: ClientTransport>: Sendable {
    public var name: String
    /// The fully qualified gRPC service whose health is asked (`bizretail.team.v1.TeamService`).
    public var service: String
    public var client: GRPCClient<Transport>

    public init(name: String, service: String, client: GRPCClient<Transport>) {
        self.name = name
        self.service = service
        self.client = client
    }

    func isReachable() async -> Bool {
        var options = CallOptions.defaults
        options.timeout = .seconds(2)
        options.waitForReady = false
        do {
            let response = try await Grpc_Health_V1_Health.Client(wrapping: client).check(
                .with { $0.service = service }, options: options)
            return response.status == .serving
        } catch {
            return false
        }
    }
}
