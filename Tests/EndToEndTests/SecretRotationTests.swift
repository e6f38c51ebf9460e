import BizProtos
import BizStorage
import BizTesting
import Foundation
import GRPCCore
import Logging
import Testing

/// Secrets rotated while the distributed cluster runs, each read again from its file (as a Kubernetes secret mount
/// changes): the gateway's client secret overlaps (old and new accepted for the grace period), and a service's
/// database password is used for its new connections, without a restart.
extension TopologySuites.ServiceIdentityTests {
    @Test(
        "secrets rotated live: the gateway's client secret overlaps for the grace period, then only the new one; a service's database user and password change under it"
    )
    func secretRotation() async throws {
        try await withTemporaryDirectory { directory in
            let cluster = try await BizRetailCluster(
                directory: directory + "/cluster",
                environment: ["BIZ_SECRETS_REFRESH_SECONDS": "1", "BIZ_SECRETS_GRACE_SECONDS": "8"],
                secretFiles: true)
            let role = "rotation_" + UUID().uuidString.prefix(8).lowercased()
            do {
                try await checkRotation(cluster, role: role)
                try await cluster.stop()
            } catch {
                try? await cluster.stop()
                throw ProcessFailure("\(error)\n\(cluster.logs().suffix(6000))")
            }
            // The role's privileges went with the databases the cluster dropped when it stopped.
            try? await Self.admin(try #require(TestDatabases.postgresURL), "DROP ROLE IF EXISTS \(role)")
        }
    }

    static func admin(_ url: String, _ sql: String) async throws {
        try await PostgresStore.withStore(url: url, migrations: [], logger: Logger(label: "test.rotation")) {
            try await $0.execute(sql)
        }
    }

    /// Polls `condition` every 200 ms for up to `seconds`; whether it held.
    static func eventually(within seconds: Int, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(200))
        }
        return try await condition()
    }

    func checkRotation(_ cluster: BizRetailCluster, role: String) async throws {
        let https = HTTPSClient(cluster)
        let platform = try await https.adminToken(cluster)
        let tenant = try await GatewayEndToEndTests.tenant(
            https, cluster, platform: platform, document: "11.222.333/0001-81", email: "admin@norte.com.br")
        var teams = 0
        func createTeam() async throws -> Int {
            let created = try await https.json(
                "POST", "/v1/teams", ["name": .string("Time \(teams)")], bearer: tenant.token)
            if created.status == 201 { teams += 1 }
            return created.status
        }
        #expect(try await createTeam() == 201)

        // The gateway's client secret, asked for a token as the gateway asks it.
        func issues(_ secret: String) async throws -> Bool {
            try await withClient(cluster, "identity") { client in
                do {
                    _ = try await Bizretail_Identity_V1_IdentityService.Client(wrapping: client).issueToken(
                        .with {
                            $0.grantType = "client_credentials"
                            $0.clientID = "biz-retail-gateway"
                            $0.clientSecret = secret
                        })
                    return true
                } catch let error as RPCError where error.code == .unauthenticated {
                    return false
                }
            }
        }
        let old = try #require(cluster.sharedEnvironment["BIZ_GATEWAY_CLIENT_SECRET"])
        let new = UUID().uuidString + UUID().uuidString
        #expect(try await issues(old))
        #expect(try await !issues(new))
        try cluster.writeSecret("gateway-client-secret", new)
        #expect(try await Self.eventually(within: 10) { try await issues(new) }, "the new secret is accepted")
        #expect(try await issues(old), "the previous secret is accepted during the grace period")
        #expect(try await createTeam() == 201)
        #expect(try await Self.eventually(within: 20) { try await !issues(old) }, "the previous secret expires")
        #expect(try await issues(new))
        #expect(try await createTeam() == 201)
        #expect(cluster.process("gateway").log().contains(#""message":"secret rotated""#))

        // The Team service's database: first another user, then that user's password, each rotated in its file.
        let database = try #require(cluster.databases["team"])
        var components = try #require(URLComponents(string: database))
        func url(_ password: String) throws -> String {
            components.user = role
            components.password = password
            return try #require(components.string)
        }
        for sql in [
            "CREATE ROLE \(role) LOGIN PASSWORD 'first-password'",
            "GRANT ALL ON SCHEMA public TO \(role)",
            "GRANT ALL ON ALL TABLES IN SCHEMA public TO \(role)",
            "GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO \(role)",
        ] {
            try await Self.admin(database, sql)
        }
        func replaced() -> Int {
            cluster.process("team").log().components(separatedBy: "PostgreSQL pool replaced").count - 1
        }
        func disconnect() async throws {
            try await Self.admin(
                database, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '\(role)'")
        }
        try cluster.writeSecret("team-database-url", try url("first-password"))
        #expect(try await Self.eventually(within: 10) { replaced() == 1 })
        #expect(try await createTeam() == 201)

        // The password changes on the server: the pool's new connections are refused until the file has it.
        try await Self.admin(database, "ALTER ROLE \(role) PASSWORD 'second-password'")
        try await disconnect()
        #expect(try await createTeam() == 503)
        try cluster.writeSecret("team-database-url", try url("second-password"))
        #expect(try await Self.eventually(within: 20) { try await createTeam() == 201 })
        #expect(replaced() == 2)
        try await disconnect()
        #expect(try await createTeam() == 201)

        // Every team made is there, through the rotated connections.
        let listed = try await https.request("GET", "/v1/teams?limit=100", bearer: tenant.token)
        #expect(listed.json?["items"]?.arrayValue?.count == teams, "\(listed.text)")
    }
}
