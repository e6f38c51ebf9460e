import BizAuth
import BizEvents
import BizProtos
import BizTesting
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Testing

/// Each service calls the others with its own service account's token, over the distributed mode's real links
/// (mutual TLS, one process per service): the receivers check that the token is meant for them, and each service
/// checks an external token's tenant itself.
extension TopologySuites {
    @Suite("Service identity between processes")
    struct ServiceIdentityTests {
        /// Runs `body` with a gRPC client of the process `service` of `cluster`, as the operator's certificate.
        func withClient<T: Sendable>(
            _ cluster: BizRetailCluster, _ service: String,
            _ body: (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> T
        ) async throws -> T {
            let certificates = try #require(cluster.certificates)
            let address = try #require(cluster.process(service).endpoint("grpc")).split(separator: ":")
            let transport = try HTTP2ClientTransport.Posix(
                target: .ipv4(address: String(address[0]), port: Int(address[1])!),
                transportSecurity: .mTLS(
                    certificateChain: [.file(path: certificates + "/operator.pem", format: .pem)],
                    privateKey: .file(path: certificates + "/operator-key.pem", format: .pem)
                ) { $0.trustRoots = .certificates([.file(path: certificates + "/ca.pem", format: .pem)]) })
            return try await withGRPCClient(transport: transport, handleClient: body)
        }

        @Test(
            "a service's token opens only the services it calls, attests the client IP there, opens no HTTPS route; each service checks an external token's tenant"
        )
        func serviceAccounts() async throws {
            try await withTemporaryDirectory { directory in
                let realm = try await TestRealm(name: "loja", directory: directory)
                defer { realm.stop() }
                let settings: JSONValue = [
                    ["issuer": .string(realm.issuer), "audience": "biz-retail-api", "tenant_claim": "biz.tenant"]
                ]
                let cluster = try await BizRetailCluster(
                    directory: directory + "/cluster", environment: ["BIZ_EXTERNAL_ISSUERS": settings.canonicalString()]
                )
                do {
                    try await check(cluster, realm)
                    try await cluster.stop()
                } catch {
                    try? await cluster.stop()
                    throw ProcessFailure("\(error)\n\(cluster.logs().suffix(6000))")
                }
            }
        }

        func check(_ cluster: BizRetailCluster, _ realm: TestRealm) async throws {
            let https = HTTPSClient(cluster)
            let platform = try await https.adminToken(cluster)
            let tenant = try await GatewayEndToEndTests.tenant(
                https, cluster, platform: platform, document: "11.222.333/0001-81", email: "admin@norte.com.br")
            // Through the gateway, the Team service asks the Cost Center service, as itself, about the team's cost
            // center, on the tenant admin's behalf.
            let center = try await https.json(
                "POST", "/v1/cost-centers", ["code": "CC-1", "name": "Loja"], bearer: tenant.token)
            let centerID = try #require(center.json?["public_id"]?.stringValue, "\(center.text)")
            let team = try await https.json(
                "POST", "/v1/teams", ["name": "Caixas", "cost_center_id": .string(centerID)], bearer: tenant.token)
            #expect(team.status == 201, "\(team.text)")

            // The Team service's account token, from its secret (derived from the deployment's master key).
            let masterKey = try #require(MasterKey(base64: cluster.sharedEnvironment["BIZ_MASTER_KEY"] ?? ""))
            let teamToken = try await withClient(cluster, "identity") { client in
                try await Bizretail_Identity_V1_IdentityService.Client(wrapping: client).issueToken(
                    .with {
                        $0.grantType = "client_credentials"
                        $0.clientID = "biz-retail-team"
                        $0.clientSecret = ServiceAccount.derivedSecret(of: "team", masterKey: masterKey)
                    }
                ).accessToken
            }
            let claims = try #require(AuthorizationFlow.segment(1, of: teamToken))
            #expect(claims["sub"]?.stringValue == ServiceAccount.publicID(of: "team"))
            #expect(
                Set(claims["aud"]?.arrayValue?.compactMap(\.stringValue) ?? [])
                    == ["biz-retail:cost-center", "biz-retail:contractor"])

            // At the Cost Center service (which Team calls) it attests the client IP of the user it acts for.
            let attested: Metadata = [
                "authorization": "Bearer \(tenant.token)", "x-biz-service-authorization": "Bearer \(teamToken)",
                "x-biz-client-ip": "203.0.113.7",
            ]
            let created = try await withClient(cluster, "cost-center") { client in
                try await Bizretail_Costcenter_V1_CostCenterService.Client(wrapping: client).createCostCenter(
                    .with {
                        $0.code = "CC-2"
                        $0.name = "Depósito"
                    }, metadata: attested)
            }
            let versions = try await GatewayEndToEndTests().versions(
                https, platform, "cost_center", created.publicID, count: 1)
            let metadata = versions.first?["envelope"]?["metadata"]
            #expect(metadata?["owner_ip"]?.stringValue == "203.0.113.7")
            #expect(metadata?["owner_id"]?.stringValue == tenant.adminID)

            // At the Audit service, which Team does not call, the same token is refused, and so is a user's token
            // posing as a service's.
            for metadata: Metadata in [
                ["authorization": "Bearer \(platform)", "x-biz-service-authorization": "Bearer \(teamToken)"],
                ["authorization": "Bearer \(teamToken)"],
                ["authorization": "Bearer \(platform)", "x-biz-service-authorization": "Bearer \(platform)"],
            ] {
                let refused = await #expect(throws: RPCError.self) {
                    try await withClient(cluster, "audit") { client in
                        try await Bizretail_Audit_V1_AuditService.Client(wrapping: client).listEvents(
                            .init(), metadata: metadata)
                    }
                }
                #expect(refused?.code == .unauthenticated, "\(String(describing: refused))")
            }
            // No HTTPS route takes a service's token: it is not for the API.
            let asAPI = try await https.request("GET", "/v1/teams", bearer: teamToken)
            #expect(asAPI.status == 401)
            #expect(asAPI.text.contains("not meant for this API"), "\(asAPI.text)")

            // An external token straight at the Team service: the Team process asks the Client Contractor service
            // whether its tenant exists, as itself.
            let known = try await realm.mint([
                "biz": ["tenant": .string(tenant.id)], "realm_access": ["roles": ["admin"]],
            ])
            let unknown = try await realm.mint([
                "biz": ["tenant": .string(EventID.generate())], "realm_access": ["roles": ["admin"]],
            ])
            try await withClient(cluster, "team") { client in
                let teams = Bizretail_Team_V1_TeamService.Client(wrapping: client)
                let listed = try await teams.listTeams(.init(), metadata: ["authorization": "Bearer \(known)"])
                #expect(listed.teams.map(\.name) == ["Caixas"])
                let refused = await #expect(throws: RPCError.self) {
                    try await teams.listTeams(.init(), metadata: ["authorization": "Bearer \(unknown)"])
                }
                #expect(refused?.code == .unauthenticated)
                #expect(refused?.message.contains("tenant does not exist") == true, "\(String(describing: refused))")
            }
        }
    }
}
