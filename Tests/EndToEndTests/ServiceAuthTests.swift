import BizEvents
import BizProtos
import BizTesting
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Testing

/// The services' own credential checks, called directly over gRPC like any client would (no gateway in between).
@Suite("gRPC services check credentials themselves", .serialized)
struct ServiceAuthTests {
    @Test("calls without a valid token are UNAUTHENTICATED; a client IP header without the gateway's token is ignored")
    func credentials() async throws {
        try await withTemporaryDirectory { directory in
            let system = try await BizRetailProcess(dataDirectory: directory)
            let port = Int(system.endpoint("grpc")!.split(separator: ":").last!)!
            try await withGRPCClient(
                transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
            ) { client in
                let teams = Bizretail_Team_V1_TeamService.Client(wrapping: client)
                let anonymous = await #expect(throws: RPCError.self) { try await teams.listTeams(.init()) }
                #expect(anonymous?.code == .unauthenticated)
                let forged = await #expect(throws: RPCError.self) {
                    try await teams.listTeams(.init(), metadata: ["authorization": "Bearer eyJhbGciOiJub25lIn0.e30."])
                }
                #expect(forged?.code == .unauthenticated)

                // A user token (client_credentials of the bootstrap client, role admin) but a self-asserted client IP.
                let token = try await Bizretail_Identity_V1_IdentityService.Client(wrapping: client).issueToken(
                    .with {
                        $0.grantType = "client_credentials"
                        $0.clientID = system.bootstrapCredential("client_id")!
                        $0.clientSecret = system.bootstrapCredential("client_secret")!
                    }
                ).accessToken
                let team = try await teams.createTeam(
                    .with { $0.name = "Direct" },
                    metadata: ["authorization": "Bearer \(token)", "x-biz-client-ip": "203.0.113.50"]
                )
                let audit = Bizretail_Audit_V1_AuditService.Client(wrapping: client)
                var history: [Bizretail_Audit_V1_EntityVersion] = []
                try await BizRetailProcess.eventually("the team.created event") {
                    history = try await audit.getEntityHistory(
                        .with { $0.entityType = "team"; $0.entityID = team.publicID },
                        metadata: ["authorization": "Bearer \(token)"]
                    ).versions
                    return history.count == 1
                }
                let envelope = try JSONParser.parse(Array(history[0].envelopeJson.utf8))
                #expect(envelope["metadata"]?["owner_ip"] == "127.0.0.1")
                #expect(envelope["metadata"]?["owner_type"] == "service")

                // The gateway's own token cannot act as a user.
                let gatewaySecret = try JSONParser.parse(
                    Array(FileManager.default.contents(atPath: directory + "/gateway-credentials.json")!)
                )["client_secret"]!.stringValue!
                let gatewayToken = try await Bizretail_Identity_V1_IdentityService.Client(wrapping: client).issueToken(
                    .with {
                        $0.grantType = "client_credentials"
                        $0.clientID = "biz-retail-gateway"
                        $0.clientSecret = gatewaySecret
                    }
                ).accessToken
                let asGateway = await #expect(throws: RPCError.self) {
                    try await teams.listTeams(.init(), metadata: ["authorization": "Bearer \(gatewayToken)"])
                }
                #expect(asGateway?.code == .permissionDenied)
            }
            try await system.stop()
        }
    }
}
