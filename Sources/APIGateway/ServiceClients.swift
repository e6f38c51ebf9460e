import BizAuth
import BizProtos
import BizTelemetry
import Foundation
import GRPCCore
import GRPCProtobuf
import Logging
import SwiftProtobuf
import Synchronization

/// The gateway's gRPC clients of the services, generic over the transport (in-process in the embedded mode, HTTP/2
/// in the distributed one), and its own identity (the gateway's service account), whose token attests the client IP
/// it forwards.
public final class ServiceClients<Transport: ClientTransport>: Sendable {
    public let identity: Bizretail_Identity_V1_IdentityService.Client<Transport>
    public let teams: Bizretail_Team_V1_TeamService.Client<Transport>
    public let audit: Bizretail_Audit_V1_AuditService.Client<Transport>
    let probes: [ServiceProbe<Transport>]
    let serviceIdentity: ServiceIdentity

    /// - Parameter connection: the client of the named service (`identity`, `team`, `audit`).
    public init(
        connection: (String) throws -> GRPCClient<Transport>, probes: [ServiceProbe<Transport>],
        identity: ServiceIdentity
    ) rethrows {
        self.identity = .init(wrapping: try connection("identity"))
        teams = .init(wrapping: try connection("team"))
        audit = .init(wrapping: try connection("audit"))
        self.probes = probes
        self.serviceIdentity = identity
    }

    /// The connection to a registered service (`cost-center`), for routes that wrap it in the service's generated
    /// client; nil for a name the registry does not know.
    public func connection(to service: String) -> GRPCClient<Transport>? {
        probes.first { $0.name == service }?.client
    }

    /// The services that do not answer within two seconds (for `/health/ready`).
    func unreachableServices() async -> [String] {
        await withTaskGroup(of: String?.self) { group in
            for probe in probes {
                group.addTask { await probe.isReachable() ? nil : probe.name }
            }
            var unreachable: [String] = []
            for await name in group { if let name { unreachable.append(name) } }
            return unreachable.sorted()
        }
    }

    /// Metadata for a call on behalf of the request's caller.
    func metadata(for context: GatewayContext) async throws -> Metadata {
        let own = try await serviceIdentity.token()
        var metadata = Metadata()
        // With the platform's tracer the client span's traceparent goes instead (ClientTracingInterceptor).
        if PlatformTracer.shared == nil {
            metadata.addString(context.trace.child().traceparent, forKey: CallMetadata.traceparent)
        }
        // A public route's call (a token request) acts for nobody: only the gateway's attestation goes.
        if let bearer = context.bearerToken {
            metadata.addString("Bearer \(bearer)", forKey: CallMetadata.authorization)
        }
        metadata.addString("Bearer \(own)", forKey: CallMetadata.serviceAuthorization)
        metadata.addString(context.clientIP, forKey: CallMetadata.clientIP)
        return metadata
    }

    /// Runs `call`, turning gRPC failures into problems.
    func call<T: Sendable>(_ context: GatewayContext, _ call: (Metadata) async throws -> T) async throws -> T {
        do {
            return try await call(try await metadata(for: context))
        } catch let error as RPCError {
            throw Problem.from(error)
        }
    }
}
