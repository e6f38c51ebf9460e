import BizEvents
import BizTesting
import Foundation
import Testing

/// `Tests/Interop/keycloak_realm.py`: a Keycloak realm's discovery document and keys on a loopback port, minting
/// Keycloak-shaped access tokens with joserfc.
final class TestRealm: Sendable {
    let issuer: String
    let port: Int
    private let process: Process

    init(name: String, directory: String) async throws {
        port = try freePort()
        let ready = directory + "/realm-\(name).ready"
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", BizRetailProcess.packageRoot + "/Tests/Interop/keycloak_realm.py", "\(port)", name, ready,
        ]
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        var issuer = ""
        let deadline = ContinuousClock.now + .seconds(30)
        while issuer.isEmpty, process.isRunning, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
            issuer = (try? String(contentsOfFile: ready, encoding: .utf8)) ?? ""
        }
        guard !issuer.isEmpty else {
            kill(process.processIdentifier, SIGKILL)
            throw ProcessFailure("the test realm did not start (pip install joserfc)")
        }
        self.issuer = issuer
    }

    func post(_ path: String, _ body: JSONValue) async throws -> String {
        let result = try await runProgram(
            "/usr/bin/curl",
            ["-sS", "-X", "POST", "-d", body.canonicalString(), "http://127.0.0.1:\(port)\(path)"])
        guard result.status == 0 else { throw ProcessFailure("the test realm failed: \(result.error)") }
        return result.output
    }

    /// A token: Keycloak's usual claims, `claims` replacing them (null removes one).
    func mint(_ claims: [String: JSONValue], alg: String = "RS256", kid: String? = nil) async throws -> String {
        var request: [String: JSONValue] = ["alg": .string(alg), "claims": .object(claims)]
        if let kid { request["kid"] = .string(kid) }
        return try await post("/mint", .object(request))
    }

    /// How often the key set was fetched.
    func certificateFetches() async throws -> Int64 {
        let result = try await runProgram("/usr/bin/curl", ["-sS", "http://127.0.0.1:\(port)/stats"])
        return (try? JSONParser.parse(Array(result.output.utf8)))?["certs"]?.integerValue ?? -1
    }

    func stop() { kill(process.processIdentifier, SIGKILL) }
}

extension GatewayEndToEndTests {
    @Test(
        "a Keycloak realm's tokens (RS256, ES256) are accepted with mapped roles and tenant; an unlisted issuer, a wrong audience, an expired token, an unknown tenant are not; a new key is fetched once"
    )
    func externalIssuer() async throws {
        try await withTemporaryDirectory { directory in
            let realm = try await TestRealm(name: "loja", directory: directory)
            defer { realm.stop() }
            let settings: JSONValue = [
                [
                    "issuer": .string(realm.issuer), "audience": "biz-retail-api", "tenant_claim": "biz.tenant",
                    "roles": ["loja-admin": "admin", "gerente": "manager"],
                ]
            ]
            try await withEmbedded(environment: ["BIZ_EXTERNAL_ISSUERS": settings.canonicalString()]) {
                system, https, platform in
                let tenant = try await Self.tenant(
                    https, system, platform: platform, document: "11.222.333/0001-81", email: "admin@norte.com.br")
                let admin = try await realm.mint([
                    "biz": ["tenant": .string(tenant.id)],
                    "realm_access": ["roles": ["default-roles-loja", "loja-admin"]],
                ])

                // An admin of the tenant, by realm role: it lists and creates, and is audited as the realm's user.
                #expect(try await https.request("GET", "/v1/users", bearer: admin).status == 200)
                let team = try await https.json("POST", "/v1/teams", ["name": "Caixas"], bearer: admin)
                #expect(team.status == 201, "\(team.text)")
                #expect(team.json?["tenant_id"]?.stringValue == tenant.id)
                let teamID = try #require(team.json?["public_id"]?.stringValue)
                let history = try await versions(https, platform, "team", teamID, count: 1)
                let owner = history.first?["envelope"]?["metadata"]
                #expect(owner?["owner_id"]?.stringValue == "f1b2c3d4-0000-4000-8000-000000000001")
                #expect(owner?["tenant_id"]?.stringValue == tenant.id)

                // A manager by the API client's role (resource_access), ES256-signed: reads teams, not users.
                let manager = try await realm.mint(
                    [
                        "biz": ["tenant": .string(tenant.id)],
                        "resource_access": ["biz-retail-api": ["roles": ["gerente"]]],
                    ], alg: "ES256")
                #expect(try await https.request("GET", "/v1/teams", bearer: manager).status == 200)
                #expect(try await https.request("GET", "/v1/users", bearer: manager).status == 403)

                // Refused: another issuer, another audience, expired, a tenant that does not exist, none at all.
                let now = Int64(Date().timeIntervalSince1970)
                for (claims, reason): ([String: JSONValue], String) in [
                    (["iss": .string(realm.issuer.replacingOccurrences(of: "/loja", with: "/outra"))], "issuer"),
                    (["aud": ["account"]], "audience"),
                    (["exp": .integer(now - 120), "iat": .integer(now - 600)], "expired"),
                    (["biz": ["tenant": .string(EventID.generate())]], "tenant"),
                    (["biz": .null], "tenant"),
                ] {
                    var full: [String: JSONValue] = [
                        "biz": ["tenant": .string(tenant.id)], "realm_access": ["roles": ["loja-admin"]],
                    ]
                    full.merge(claims) { $1 }
                    let token = try await realm.mint(full)
                    let refused = try await https.request("GET", "/v1/teams", bearer: token)
                    #expect(refused.status == 401, "\(reason): \(refused.text)")
                    #expect(refused.text.contains(reason), "\(refused.text)")
                }

                // The realm changes its key: a token of the new kid makes the verifier fetch the keys once.
                let before = try await realm.certificateFetches()
                _ = try await realm.post("/rotate", [:])
                let rotated = try await realm.mint([
                    "biz": ["tenant": .string(tenant.id)], "realm_access": ["roles": ["loja-admin"]],
                ])
                #expect(try await https.request("GET", "/v1/teams", bearer: rotated).status == 200)
                #expect(try await realm.certificateFetches() == before + 1)
                // Made-up key ids are refused, and do not make it fetch again within 10 s.
                for _ in 0..<3 {
                    let forged = try await realm.mint(
                        ["biz": ["tenant": .string(tenant.id)]], kid: "made-up-\(UUID().uuidString)")
                    #expect(try await https.request("GET", "/v1/teams", bearer: forged).status == 401)
                }
                #expect(try await realm.certificateFetches() <= before + 2)
            }
        }
    }
}
