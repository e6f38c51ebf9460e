import BizEvents
import BizTesting
import Foundation
import Testing

/// `scripts/cluster`, as README tells a user to run it (on free ports and a directory of its own).
extension TopologySuites {
    @Suite("scripts/cluster starts the distributed topology")
    struct ClusterScriptTests {
        @Test("up starts every process and the gateway answers; status lists them; down stops them")
        func upAndDown() async throws {
            try await withTemporaryDirectory { directory in
                // Below Linux's ephemeral range (32768–60999), where another process's outgoing connection could hold
                // one of the fixed ports the script gives each service.
                let grpcBase = 20_000 + Int.random(in: 0..<250) * 40
                let environment = [
                    "BIZ_CLUSTER_DIR": directory + "/cluster", "BIZ_BINARY": BizRetailProcess.executable,
                    "BIZ_HTTPS_PORT": "\(try freePort())", "BIZ_CLUSTER_PG_PORT": "\(try freePort())",
                    "BIZ_CLUSTER_KAFKA_PORT": "\(try freePort())", "BIZ_CLUSTER_GRPC_BASE": "\(grpcBase)",
                    "BIZ_CLUSTER_METRICS_BASE": "\(grpcBase + 20)",
                    "BIZ_BCRYPT_COST": "4",
                ]
                func cluster(_ command: String) async throws -> CommandResult {
                    try await runProgram(
                        "/usr/bin/env",
                        environment.map { "\($0)=\($1)" } + [
                            BizRetailProcess.packageRoot + "/scripts/cluster", command,
                        ])
                }
                let up = try await cluster("up")
                // `down` also when the checks in between throw, so no process outlives the test.
                do {
                    #expect(up.status == 0, "\(up.error)")
                    let https = HTTPSClient(
                        baseURL: "https://127.0.0.1:\(environment["BIZ_HTTPS_PORT"]!)",
                        caFile: directory + "/cluster/gateway/tls/cert.pem")
                    let token = try await https.adminToken(credentialsIn: directory + "/cluster/identity")
                    // `up` returned once /health/ready answered, so every service is reachable.
                    let team = try await https.json("POST", "/v1/teams", ["name": "From the script"], bearer: token)
                    let id = try #require(team.json?["public_id"]?.stringValue, "\(team.status) \(team.text)")
                    try await BizRetailProcess.eventually("the team to be audited") {
                        try await https.request("GET", "/v1/audit/entities/team/\(id)/versions", bearer: token).json?[
                            "items"]?
                            .arrayValue?.count == 1
                    }
                    let status = try await cluster("status")
                    for name in ["identity", "contractor", "team", "audit", "gateway"] {
                        #expect(status.output.contains("\(name): running"))
                    }
                } catch {
                    _ = try? await cluster("down")
                    throw error
                }
                let down = try await cluster("down")
                #expect(down.status == 0)
                #expect(!(try await cluster("status")).output.contains(": running"))
            }
        }
    }
}
