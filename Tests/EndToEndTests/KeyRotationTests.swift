import BizAuth
import BizEvents
import BizTesting
import Foundation
import Testing

extension GatewayEndToEndTests {
    /// The `kid` of a JWT's header.
    static func keyID(_ jwt: String) -> String? { AuthorizationFlow.segment(0, of: jwt)?["kid"]?.stringValue }

    @Test("biz-retail identity rotate-keys: new tokens use the new key, older ones verify until they expire")
    func keyRotation() async throws {
        try await withEmbedded(environment: ["BIZ_ACCESS_TOKEN_LIFETIME": "6"]) { system, https, before in
            let oldKey = try #require(Self.keyID(before))
            #expect(try await https.request("GET", "/v1/teams", bearer: before).status == 200)

            let rotated = try await system.command(["identity", "rotate-keys"])
            #expect(rotated.status == 0, "\(rotated.error)")
            let jwks = try await https.request("GET", "/oauth2/jwks").json
            let served = jwks?["keys"]?.arrayValue?.compactMap { $0["kid"]?.stringValue } ?? []
            #expect(served.count == 2 && served.last == oldKey, "\(served)")
            let newKey = try #require(served.first)
            #expect(rotated.output.contains(newKey))

            // A token of the new key is accepted at once (the verifiers refresh their key set for an unknown kid);
            // the old one still is.
            let after = try await https.adminToken(system)
            #expect(Self.keyID(after) == newKey)
            #expect(try await https.request("GET", "/v1/teams", bearer: after).status == 200)
            #expect(try await https.request("GET", "/v1/teams", bearer: before).status == 200)

            // Once it has expired, the old token is refused like any expired one.
            try await Task.sleep(for: .seconds(7))
            let expired = try await https.request("GET", "/v1/teams", bearer: before)
            #expect(expired.status == 401)
            #expect(expired.headers["www-authenticate"]?.contains("expired") == true)

            // Both keys are audited: the first made by the Identity service on its own (its service account), the
            // rotation by the operator's client; neither event holds key material.
            let admin = try await https.adminToken(system)
            var created: [JSONValue] = []
            try await BizRetailProcess.eventually("two signing_key.created events audited") {
                let events = try await https.request(
                    "GET", "/v1/audit/events?event_type=signing_key.created", bearer: admin)
                created = events.json?["items"]?.arrayValue ?? []
                return created.count == 2
            }
            let byKid = Dictionary(
                uniqueKeysWithValues: created.compactMap { event in
                    event["payload"]?["public_id"]?.stringValue.map { ($0, event) }
                })
            let first = try #require(byKid[oldKey]?["metadata"])
            #expect(first["owner_type"]?.stringValue == "service")
            #expect(first["owner_id"]?.stringValue == ServiceAccount.publicID(of: "identity"))
            #expect(first["owner_role"]?.stringValue == "service")
            let rotation = try #require(byKid[newKey])
            #expect(rotation["payload"]?["replaces"]?.stringValue == oldKey)
            #expect(rotation["metadata"]?["owner_role"]?.stringValue == "admin")
            #expect(rotation["metadata"]?["owner_id"]?.stringValue != ServiceAccount.publicID(of: "identity"))
            #expect(
                rotation["payload"]?.objectValue.map { Set($0.keys) } == [
                    "public_id", "algorithm", "created_at", "replaces",
                ])

            // Only a platform admin may rotate: a tenant's admin is refused.
            let tenant = try await Self.tenant(
                https, system, platform: try await https.adminToken(system), document: "11.222.333/0001-81",
                email: "admin@norte.com.br")
            let refused = try await system.command(["identity", "rotate-keys", "--token", tenant.token])
            #expect(refused.status != 0)
            #expect(refused.error.contains("platform admin"), "\(refused.error)")
        }
    }
}
