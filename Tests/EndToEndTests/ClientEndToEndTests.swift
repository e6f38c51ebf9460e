import BizAuth
import BizEvents
import BizTesting
import Testing

extension GatewayEndToEndTests {
    @Test(
        "a tenant's admins register, rotate and disable its OAuth2 clients over HTTPS; secrets shown once",
        arguments: Topology.allCases)
    func oauthClients(_ topology: Topology) async throws {
        try await withSystem(topology) { system, https, platform in
            let north = try await Self.tenant(
                https, system, platform: platform, document: "11.222.333/0001-81", email: "admin@norte.com.br")
            let south = try await Self.tenant(
                https, system, platform: platform, document: "12.ABC.345/01DE-35", email: "admin@sul.com.br")
            let created = try await https.json(
                "POST", "/v1/oauth-clients", ["name": "ERP", "roles": ["viewer"]], bearer: north.token)
            #expect(created.status == 201, "\(created.text)")
            #expect(created.headers["cache-control"] == "no-store")
            let id = try #require(created.json?["public_id"]?.stringValue)
            let clientID = try #require(created.json?["client_id"]?.stringValue)
            let secret = try #require(created.json?["client_secret"]?.stringValue)
            #expect(created.json?["tenant_id"] == .string(north.id))
            #expect(created.json?["grant_types"] == ["client_credentials"])
            #expect(created.json?["redirect_uris"] == [])

            // Where an authorization response may go: https, or http on a loopback host; kept as given.
            let portal = try await https.json(
                "POST", "/v1/oauth-clients",
                [
                    "name": "Portal", "grant_types": ["password", "refresh_token"], "first_party": true,
                    "redirect_uris": ["https://portal.norte.com.br/callback", "http://127.0.0.1:8765/cb"],
                ], bearer: north.token)
            #expect(portal.status == 201, "\(portal.text)")
            #expect(
                portal.json?["redirect_uris"] == ["https://portal.norte.com.br/callback", "http://127.0.0.1:8765/cb"])
            let portalID = try #require(portal.json?["public_id"]?.stringValue)
            let portalRead = try await https.request("GET", "/v1/oauth-clients/\(portalID)", bearer: north.token)
            #expect(portalRead.json?["redirect_uris"] == portal.json?["redirect_uris"])
            for bad: JSONValue in ["http://portal.norte.com.br/cb", "https://portal.norte.com.br/cb#frag", "/cb"] {
                let refused = try await https.json(
                    "POST", "/v1/oauth-clients", ["name": "Mau", "roles": ["viewer"], "redirect_uris": [bad]],
                    bearer: north.token)
                #expect(refused.status == 422, "\(bad): \(refused.text)")
                #expect(refused.json?["field"] == "redirect_uris[0]")
            }

            func serviceToken(_ secret: String) async throws -> String? {
                try await https.token(["grant_type": "client_credentials"], basic: (clientID, secret))
                    .json?["access_token"]?.stringValue
            }
            let token = try #require(try await serviceToken(secret))
            let read = try await https.request("GET", "/v1/cost-centers", bearer: token)
            #expect(read.status == 200)
            let write = try await https.json("POST", "/v1/cost-centers", ["code": "X", "name": "X"], bearer: token)
            #expect(write.status == 403)

            let listed = try await https.request("GET", "/v1/oauth-clients", bearer: north.token)
            let items = try #require(listed.json?["items"]?.arrayValue)
            let listedIDs = items.compactMap { $0["client_id"]?.stringValue }
            #expect(listedIDs.contains(clientID))
            #expect(items.count == 2)
            #expect(items.allSatisfy { $0["client_secret"] == nil })
            let hidden = try await https.request("GET", "/v1/oauth-clients/\(id)", bearer: south.token)
            #expect(hidden.status == 404)
            let hiddenRotate = try await https.request(
                "POST", "/v1/oauth-clients/\(id)/rotate-secret", bearer: south.token)
            #expect(hiddenRotate.status == 404)

            let rotated = try await https.request("POST", "/v1/oauth-clients/\(id)/rotate-secret", bearer: north.token)
            #expect(rotated.status == 200, "\(rotated.text)")
            let newSecret = try #require(rotated.json?["client_secret"]?.stringValue)
            #expect(newSecret != secret)
            #expect(try await serviceToken(secret) == nil)
            #expect(try await serviceToken(newSecret) != nil)

            let disabled = try await https.request("POST", "/v1/oauth-clients/\(id)/disable", bearer: north.token)
            #expect(disabled.json?["enabled"] == false)
            #expect(try await serviceToken(newSecret) == nil)

            // The platform's own clients are not the API's to switch off.
            // Every service's account is one, with the public id its client id gives.
            let platformClients = try await https.request(
                "GET", "/v1/oauth-clients?page_size=100", bearer: platform)
            let accounts = platformClients.json?["items"]?.arrayValue ?? []
            for service in ["gateway", "identity", "contractor", "cost-center", "team", "notifications", "audit"] {
                let account = try #require(
                    accounts.first { $0["client_id"]?.stringValue == "biz-retail-\(service)" }, "\(service)")
                if service != "gateway" {
                    #expect(account["public_id"]?.stringValue == ServiceAccount.publicID(of: service))
                }
                let accountID = try #require(account["public_id"]?.stringValue)
                let refused = try await https.request(
                    "POST", "/v1/oauth-clients/\(accountID)/disable", bearer: platform)
                #expect(refused.status == 422, "\(service)")
                let rotated = try await https.request(
                    "POST", "/v1/oauth-clients/\(accountID)/rotate-secret", bearer: platform)
                #expect(rotated.status == 422, "\(service)")
            }

            let history = try await versions(https, platform, "client", id, count: 3)
            #expect(history.map { $0["action_type"] } == ["new", "update", "disable"])
            #expect(history[1]["envelope"]?["event_type"] == "client.secret_rotated")
            for version in history {
                let payload = try #require(version["envelope"]?["payload"]?.objectValue)
                #expect(Set(payload.keys).isDisjoint(with: ["client_secret", "secret_hash", "secret"]))
            }
        }
    }
}
