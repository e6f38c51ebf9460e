import BizAuth
import BizEvents
import BizProtos
import BizRuntime
import BizServiceKit
import BizTesting
import GRPCCore
import GRPCInProcessTransport
import Logging
import Testing

/// The security model over the embedded mode's in-process transport: the same interceptor as over HTTP/2 (the
/// end-to-end suites prove it there), so every call needs a verified token and only the gateway attests a client IP.
@Suite("Security over the in-process transport")
struct InProcessSecurityTests {
    struct Platform {
        var identity: Bizretail_Identity_V1_IdentityService.Client<InProcessTransport.Client>
        var teams: Bizretail_Team_V1_TeamService.Client<InProcessTransport.Client>
        var audit: Bizretail_Audit_V1_AuditService.Client<InProcessTransport.Client>
        var adminToken: String
        var gatewayToken: String
        /// The Team service's account token (it calls the Cost Center and Client Contractor services).
        var teamToken: String
        var client: GRPCClient<InProcessTransport.Client>
    }

    func withPlatform<T: Sendable>(_ body: (Platform) async throws -> T) async throws -> T {
        try await withTemporaryDirectory { directory in
            let logger = Logger(label: "test")
            var configuration = testConfiguration(directory: directory)
            configuration.serviceClientSecrets["team"] = Secret("test-team-secret-0123456789")
            return try await InProcessPlatform.run(configuration, logger: logger) { platform in
                let identity = Bizretail_Identity_V1_IdentityService.Client(wrapping: platform.client)
                let admin = try await identity.issueToken(TestCredentials.adminPasswordGrant)
                let gateway = try await identity.issueToken(
                    .with {
                        $0.grantType = "client_credentials"
                        $0.clientID = "biz-retail-gateway"
                        $0.clientSecret = configuration.serviceClientSecrets["gateway"]!.value
                    })
                let team = try await identity.issueToken(
                    .with {
                        $0.grantType = "client_credentials"
                        $0.clientID = "biz-retail-team"
                        $0.clientSecret = "test-team-secret-0123456789"
                    })
                return try await body(
                    Platform(
                        identity: identity, teams: .init(wrapping: platform.client),
                        audit: .init(wrapping: platform.client), adminToken: admin.accessToken,
                        gatewayToken: gateway.accessToken, teamToken: team.accessToken, client: platform.client))
            }
        }
    }

    /// The `owner_ip` of the `team.created` event of `teamID`, once audited.
    func auditedOwnerIP(_ platform: Platform, team teamID: String) async throws -> String? {
        for _ in 0..<100 {
            let history = try await platform.audit.getEntityHistory(
                .with {
                    $0.entityType = "team"
                    $0.entityID = teamID
                }, metadata: ["authorization": "Bearer \(platform.adminToken)"])
            if let version = history.versions.first {
                let envelope = try EventEnvelope.decode(Array(version.envelopeJson.utf8))
                return envelope.metadata.ownerIP
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }

    @Test("a call without a token, or with a forged one, is UNAUTHENTICATED")
    func noToken() async throws {
        try await withPlatform { platform in
            let error = await #expect(throws: RPCError.self) { try await platform.teams.listTeams(.init()) }
            #expect(error?.code == .unauthenticated)
            let forged = await #expect(throws: RPCError.self) {
                try await platform.teams.listTeams(.init(), metadata: ["authorization": "Bearer eyJhbGciOi.forged.x"])
            }
            #expect(forged?.code == .unauthenticated)
        }
    }

    @Test("a client IP without the gateway's token is ignored; with it, the attested IP is the owner_ip")
    func attestation() async throws {
        try await withPlatform { platform in
            let user: Metadata = ["authorization": "Bearer \(platform.adminToken)", "x-biz-client-ip": "198.51.100.9"]
            let selfAsserted = try await platform.teams.createTeam(.with { $0.name = "Self-asserted" }, metadata: user)
            #expect(try await auditedOwnerIP(platform, team: selfAsserted.publicID) == "127.0.0.1")

            var attested = user
            attested.addString("Bearer \(platform.gatewayToken)", forKey: "x-biz-service-authorization")
            let viaGateway = try await platform.teams.createTeam(.with { $0.name = "Via gateway" }, metadata: attested)
            #expect(try await auditedOwnerIP(platform, team: viaGateway.publicID) == "198.51.100.9")
        }
    }

    @Test("a service's token is accepted only where its audience names the receiver, and only a service's is")
    func serviceAudiences() async throws {
        try await withPlatform { platform in
            let costCenters = Bizretail_Costcenter_V1_CostCenterService.Client(wrapping: platform.client)
            let unknown = Bizretail_Costcenter_V1_GetCostCenterRequest.with { $0.publicID = EventID.generate() }
            // Team calls the Cost Center service: its token passes, and the call reaches the handler (404).
            let passed = await #expect(throws: RPCError.self) {
                try await costCenters.getCostCenter(
                    unknown,
                    metadata: [
                        "authorization": "Bearer \(platform.adminToken)",
                        "x-biz-service-authorization": "Bearer \(platform.teamToken)",
                    ])
            }
            #expect(passed?.code == .notFound)
            // Team does not call the Audit service, nor the Team service itself; an admin's token is no service's.
            for (metadata, service): (Metadata, String) in [
                (
                    [
                        "authorization": "Bearer \(platform.adminToken)",
                        "x-biz-service-authorization": "Bearer \(platform.teamToken)",
                    ], "audit"
                ),
                (["authorization": "Bearer \(platform.teamToken)"], "audit"),
                (["authorization": "Bearer \(platform.teamToken)"], "team"),
                (
                    [
                        "authorization": "Bearer \(platform.adminToken)",
                        "x-biz-service-authorization": "Bearer \(platform.adminToken)",
                    ], "team"
                ),
            ] {
                let error = await #expect(throws: RPCError.self) {
                    if service == "audit" {
                        _ = try await platform.audit.listEvents(.init(), metadata: metadata)
                    } else {
                        _ = try await platform.teams.listTeams(.init(), metadata: metadata)
                    }
                }
                #expect(error?.code == .unauthenticated, "\(service) \(String(describing: error))")
            }
        }
    }

    @Test("the gateway's own token cannot act as a user")
    func gatewayIsNotAUser() async throws {
        try await withPlatform { platform in
            let error = await #expect(throws: RPCError.self) {
                try await platform.teams.createTeam(
                    .with { $0.name = "Nope" }, metadata: ["authorization": "Bearer \(platform.gatewayToken)"])
            }
            #expect(error?.code == .permissionDenied)
        }
    }

    @Test("the audit trail is for the platform's administrators only")
    func auditNeedsAdmin() async throws {
        try await withPlatform { platform in
            let error = await #expect(throws: RPCError.self) {
                try await platform.audit.listEvents(
                    .init(), metadata: ["authorization": "Bearer \(platform.gatewayToken)"])
            }
            #expect(error?.code == .permissionDenied)
        }
    }

    @Test("a token without the api scope is PERMISSION_DENIED, though it still reads its own userinfo")
    func scopeEnforced() async throws {
        try await withPlatform { platform in
            var grant = TestCredentials.adminPasswordGrant
            grant.scope = "openid"
            let openID = try await platform.identity.issueToken(grant).accessToken
            let metadata: Metadata = ["authorization": "Bearer \(openID)"]
            let error = await #expect(throws: RPCError.self) {
                try await platform.teams.listTeams(.init(), metadata: metadata)
            }
            #expect(error?.code == .permissionDenied)
            #expect(error?.message.contains("api scope") == true)
            #expect(
                try await platform.identity.getUserInfo(.init(), metadata: metadata).email == TestCredentials.adminEmail
            )
        }
    }
}
