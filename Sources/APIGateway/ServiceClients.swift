import BizAuth
import BizProtos
import Foundation
import GRPCCore
import GRPCProtobuf
import Logging
import SwiftProtobuf
import Synchronization

/// The gateway's gRPC clients of the services, generic over the transport (in-process in the embedded mode, HTTP/2
/// in the distributed one), and its own service token (client_credentials as the gateway client), which attests the
/// client IP it forwards.
public final class ServiceClients<Transport: ClientTransport>: Sendable {
    public let identity: Bizretail_Identity_V1_IdentityService.Client<Transport>
    public let teams: Bizretail_Team_V1_TeamService.Client<Transport>
    public let audit: Bizretail_Audit_V1_AuditService.Client<Transport>
    let probes: [ServiceProbe<Transport>]
    let gatewayToken: GatewayToken

    /// - Parameter connection: the client of the named service (`identity`, `team`, `audit`).
    public init(
        connection: (String) throws -> GRPCClient<Transport>, probes: [ServiceProbe<Transport>],
        gatewayClientID: String, gatewayClientSecret: String
    ) rethrows {
        identity = .init(wrapping: try connection("identity"))
        teams = .init(wrapping: try connection("team"))
        audit = .init(wrapping: try connection("audit"))
        self.probes = probes
        gatewayToken = GatewayToken(clientID: gatewayClientID, secret: gatewayClientSecret)
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
        var metadata: Metadata = [CallMetadata.traceparent: "\(context.trace.child().traceparent)"]
        if let bearer = context.bearerToken {
            metadata.addString("Bearer \(bearer)", forKey: CallMetadata.authorization)
        }
        let gateway = try await gatewayToken.current { request in try await identity.issueToken(request) }
        metadata.addString("Bearer \(gateway)", forKey: CallMetadata.gatewayAuthorization)
        metadata.addString(context.clientIP, forKey: CallMetadata.clientIP)
        return metadata
    }

    /// Whether the tenant exists (asked as the gateway itself, a platform service): for external issuers' tokens.
    public func tenantExists(_ tenant: String) async throws -> Bool {
        guard let connection = connection(to: "contractor") else { return false }
        let gateway = try await gatewayToken.current { request in try await identity.issueToken(request) }
        do {
            _ = try await Bizretail_Contractor_V1_TenantService.Client(wrapping: connection).getTenant(
                .with { $0.tenantID = tenant }, metadata: [CallMetadata.authorization: "Bearer \(gateway)"])
            return true
        } catch let error as RPCError where error.code == .notFound {
            return false
        }
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
