import BizAuth
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
                transport: .http2NIOPosix(
                    target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
            ) { client in
                let teams = Bizretail_Team_V1_TeamService.Client(wrapping: client)
                let anonymous = await #expect(throws: RPCError.self) { try await teams.listTeams(.init()) }
                #expect(anonymous?.code == .unauthenticated)
                let forged = await #expect(throws: RPCError.self) {
                    try await teams.listTeams(.init(), metadata: ["authorization": "Bearer eyJhbGciOiJub25lIn0.e30."])
                }
                #expect(forged?.code == .unauthenticated)

                // A valid token (the operator's service client, role admin) but a self-asserted client IP.
                let token = try await Bizretail_Identity_V1_IdentityService.Client(wrapping: client).issueToken(
                    .with {
                        $0.grantType = "client_credentials"
                        $0.clientID = system.operatorCredential("client_id")!
                        $0.clientSecret = system.operatorCredential("client_secret")!
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
                        .with {
                            $0.entityType = "team"
                            $0.entityID = team.publicID
                        },
                        metadata: ["authorization": "Bearer \(token)"]
                    ).versions
                    return history.count == 1
                }
                let envelope = try JSONParser.parse(Array(history[0].envelopeJson.utf8))
                #expect(envelope["metadata"]?["owner_ip"] == "127.0.0.1")
                #expect(envelope["metadata"]?["owner_type"] == "service")

                // The gateway's own token cannot act as a user. Its secret is derived from the master key.
                let masterKey = try #require(
                    MasterKey(base64: try String(contentsOfFile: directory + "/master.key", encoding: .utf8)))
                let gatewaySecret = ServiceAccount.derivedSecret(of: "gateway", masterKey: masterKey)
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

    @Test("a tenant's administrator sees only its tenant, in the audit trail too")
    func tenantIsolation() async throws {
        try await withTemporaryDirectory { directory in
            let system = try await BizRetailProcess(dataDirectory: directory)
            let https = HTTPSClient(system)
            let platformToken = try await https.adminToken(system)
            let platformTeam = try await https.json(
                "POST", "/v1/teams", ["name": "Platform ops"], bearer: platformToken)
            let platformTeamID = try #require(platformTeam.json?["public_id"]?.stringValue)

            let tenant = "6f1c2d3e-4a5b-4c6d-8e7f-901a2b3c4d5e"
            let port = Int(system.endpoint("grpc")!.split(separator: ":").last!)!
            try await withGRPCClient(
                transport: .http2NIOPosix(
                    target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
            ) { client in
                let identity = Bizretail_Identity_V1_IdentityService.Client(wrapping: client)
                let refused = await #expect(throws: RPCError.self) {
                    try await identity.createUser(
                        .with {
                            $0.tenantID = "acme"
                            $0.email = "x@acme.example"
                            $0.name = "X"
                            $0.password = "long enough password"
                            $0.roles = ["admin"]
                        },
                        metadata: ["authorization": "Bearer \(platformToken)"]
                    )
                }
                #expect(refused?.code == .invalidArgument)
                _ = try await identity.createUser(
                    .with {
                        $0.tenantID = tenant
                        $0.email = "chefe@loja.example"
                        $0.name = "Chefe"
                        $0.password = "long enough password"
                        $0.roles = ["admin"]
                    },
                    metadata: ["authorization": "Bearer \(platformToken)"]
                )
            }
            let login = try await https.token(
                ["grant_type": "password", "username": "chefe@loja.example", "password": "long enough password"],
                basic: (system.bootstrapCredential("client_id")!, system.bootstrapCredential("client_secret")!)
            )
            let token = try #require(login.json?["access_token"]?.stringValue, "\(login.text)")
            let own = try await https.json("POST", "/v1/teams", ["name": "Loja Centro"], bearer: token)
            #expect(own.json?["tenant_id"] == .string(tenant))
            guard case .array(let visible)? = try await https.request("GET", "/v1/teams", bearer: token).json?["items"]
            else {
                Issue.record("no team list")
                return
            }
            #expect(visible.map { $0["name"] } == ["Loja Centro"])
            #expect(try await https.request("GET", "/v1/teams/\(platformTeamID)", bearer: token).status == 404)
            // The audit trail shows the tenant's admin its own tenant's events only.
            var audited: [JSONValue] = []
            try await BizRetailProcess.eventually("the tenant's team audited") {
                let trail = try await https.request("GET", "/v1/audit/events?event_type=team.created", bearer: token)
                audited = trail.json?["items"]?.arrayValue ?? []
                return trail.status == 200 && !audited.isEmpty
            }
            #expect(audited.map { $0["payload"]?["name"] } == ["Loja Centro"])
            #expect(
                try await https.request("GET", "/v1/audit/entities/team/\(platformTeamID)/versions", bearer: token)
                    .status == 404)
            try await system.stop()
        }
    }

    @Test("an admin registers an OAuth2 client; its secret works once issued and is audited without the secret")
    func registerClient() async throws {
        try await withTemporaryDirectory { directory in
            let system = try await BizRetailProcess(dataDirectory: directory)
            let https = HTTPSClient(system)
            let admin = try await https.adminToken(system)
            let port = Int(system.endpoint("grpc")!.split(separator: ":").last!)!
            let tenant = "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
            let registered = try await withGRPCClient(
                transport: .http2NIOPosix(
                    target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
            ) { client in
                let identity = Bizretail_Identity_V1_IdentityService.Client(wrapping: client)
                let metadata: Metadata = ["authorization": "Bearer \(admin)"]
                let refused = await #expect(throws: RPCError.self) {
                    try await identity.createClient(
                        .with {
                            $0.name = "Loja app"
                            $0.tenantID = tenant
                            $0.roles = ["manager"]
                            $0.grantTypes = ["password"]
                        },
                        metadata: metadata
                    )
                }
                #expect(refused?.code == .invalidArgument)
                #expect(refused?.metadata[stringValues: "field"].first(where: { _ in true }) == "grant_types")
                return try await identity.createClient(
                    .with {
                        $0.name = "Loja integration"
                        $0.tenantID = tenant
                        $0.roles = ["manager"]
                        $0.grantTypes = ["client_credentials"]
                    },
                    metadata: metadata
                )
            }
            let token = try await https.token(
                ["grant_type": "client_credentials"], basic: (registered.clientID, registered.clientSecret)
            )
            let accessToken = try #require(token.json?["access_token"]?.stringValue, "\(token.text)")
            let team = try await https.json("POST", "/v1/teams", ["name": "Integração"], bearer: accessToken)
            #expect(team.json?["tenant_id"] == .string(tenant))

            var history: [JSONValue] = []
            try await BizRetailProcess.eventually("the client.created event") {
                let response = try await https.request(
                    "GET", "/v1/audit/entities/client/\(registered.publicID)/versions", bearer: admin
                )
                guard case .array(let items)? = response.json?["items"] else { return false }
                history = items
                return items.count == 1
            }
            let envelope = try #require(history.first?["envelope"])
            #expect(envelope["metadata"]?["owner_id"] == .string(system.bootstrapCredential("admin_id")!))
            #expect(!envelope.canonicalString().contains(registered.clientSecret))
            #expect(envelope["payload"]?["secret_hash"] == nil)
            try await system.stop()
        }
    }
}
