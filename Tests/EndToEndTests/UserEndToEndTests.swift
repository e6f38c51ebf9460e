import BizEvents
import BizTesting
import Testing

extension GatewayEndToEndTests {
    func login(_ https: HTTPSClient, _ system: any RunningSystem, _ email: String, _ password: String) async throws
        -> HTTPSClient.Response
    {
        let clientID = try #require(system.bootstrapCredential("client_id"))
        let secret = try #require(system.bootstrapCredential("client_secret"))
        return try await https.token(
            ["grant_type": "password", "username": email, "password": password], basic: (clientID, secret))
    }

    @Test(
        "a tenant's admins manage its users over HTTPS: generated passwords shown once, sessions ended, other tenants sealed",
        arguments: Topology.allCases)
    func users(_ topology: Topology) async throws {
        try await withSystem(topology) { system, https, platform in
            let north = try await Self.tenant(
                https, system, platform: platform, document: "11.222.333/0001-81", email: "admin@norte.com.br")
            let south = try await Self.tenant(
                https, system, platform: platform, document: "12.ABC.345/01DE-35", email: "admin@sul.com.br")

            let created = try await https.json(
                "POST", "/v1/users", ["email": "Maria@Norte.com.br", "name": "Maria", "roles": ["manager"]],
                bearer: north.token)
            #expect(created.status == 201, "\(created.text)")
            #expect(created.headers["cache-control"] == "no-store")
            let maria = try #require(created.json)
            let id = try #require(maria["public_id"]?.stringValue)
            #expect(maria["tenant_id"] == .string(north.id))
            #expect(maria["email"] == "maria@norte.com.br")
            let generated = try #require(maria["generated_password"]?.stringValue)
            let fetched = try await https.request("GET", "/v1/users/\(id)", bearer: north.token)
            #expect(fetched.json?["generated_password"] == nil)
            #expect(fetched.headers["etag"] == "\"1\"")
            let session = try await login(https, system, "maria@norte.com.br", generated)
            let managerToken = try #require(session.json?["access_token"]?.stringValue, "\(session.text)")
            let refresh = try #require(session.json?["refresh_token"]?.stringValue)

            // Only admins manage users; another tenant's admin sees none of this tenant's.
            let forbidden = try await https.request("GET", "/v1/users", bearer: managerToken)
            #expect(forbidden.status == 403)
            let listed = try await https.request("GET", "/v1/users", bearer: north.token)
            #expect(listed.json?["items"]?.arrayValue?.count == 2)
            let southList = try await https.request("GET", "/v1/users", bearer: south.token)
            #expect(southList.json?["items"]?.arrayValue?.map { $0["email"] } == ["admin@sul.com.br"])
            let hidden = try await https.request("GET", "/v1/users/\(id)", bearer: south.token)
            #expect(hidden.status == 404)
            let hiddenChange = try await https.request("POST", "/v1/users/\(id)/disable", bearer: south.token)
            #expect(hiddenChange.status == 404)
            let otherTenant = try await https.json(
                "POST", "/v1/users",
                [
                    "email": "x@sul.com.br", "name": "X", "roles": ["viewer"],
                    "tenant_id": .string(south.id),
                ], bearer: north.token)
            #expect(otherTenant.status == 403)

            let demoted = try await https.json(
                "PATCH", "/v1/users/\(id)", ["roles": ["viewer"]], bearer: north.token, headers: ["If-Match": "\"1\""])
            #expect(demoted.status == 200, "\(demoted.text)")
            #expect(demoted.json?["roles"] == ["viewer"])
            let stale = try await https.json(
                "PATCH", "/v1/users/\(id)", ["name": "M"], bearer: north.token, headers: ["If-Match": "\"1\""])
            #expect(stale.status == 412)
            let badRole = try await https.json("PATCH", "/v1/users/\(id)", ["roles": ["owner"]], bearer: north.token)
            #expect(badRole.status == 400)
            #expect(badRole.json?["field"] == "roles")

            // Disabled: no login, and the session's refresh token is dead.
            let disabled = try await https.request("POST", "/v1/users/\(id)/disable", bearer: north.token)
            #expect(disabled.json?["enabled"] == false)
            #expect(try await login(https, system, "maria@norte.com.br", generated).status != 200)
            let clientID = try #require(system.bootstrapCredential("client_id"))
            let secret = try #require(system.bootstrapCredential("client_secret"))
            let refreshed = try await https.token(
                ["grant_type": "refresh_token", "refresh_token": refresh], basic: (clientID, secret))
            #expect(refreshed.status == 400)
            _ = try await https.request("POST", "/v1/users/\(id)/enable", bearer: north.token)

            let reset = try await https.json(
                "POST", "/v1/users/\(id)/reset-password", ["password": "uma-senha-nova-1"], bearer: north.token)
            #expect(reset.status == 200, "\(reset.text)")
            #expect(reset.json?["generated_password"] == nil)
            #expect(try await login(https, system, "maria@norte.com.br", generated).status != 200)
            #expect(try await login(https, system, "maria@norte.com.br", "uma-senha-nova-1").status == 200)

            let own = try await https.request("POST", "/v1/users/\(north.adminID)/disable", bearer: north.token)
            #expect(own.status == 422)
            let deleted = try await https.request("DELETE", "/v1/users/\(id)", bearer: north.token)
            #expect(deleted.status == 204)
            let gone = try await https.request("GET", "/v1/users/\(id)", bearer: north.token)
            #expect(gone.status == 404)

            // A platform admin acts in any tenant by naming it.
            let byPlatform = try await https.json(
                "POST", "/v1/users",
                ["email": "ops@sul.com.br", "name": "Ops", "roles": ["viewer"], "tenant_id": .string(south.id)],
                bearer: platform)
            #expect(byPlatform.status == 201, "\(byPlatform.text)")
            #expect(byPlatform.json?["tenant_id"] == .string(south.id))

            // Every change audited, with no secret or hash in any payload.
            let history = try await versions(https, platform, "user", id, count: 6)
            #expect(
                history.map { $0["action_type"] } == ["new", "update", "disable", "enable", "update", "delete"])
            for version in history {
                let payload = try #require(version["envelope"]?["payload"]?.objectValue)
                #expect(Set(payload.keys).isDisjoint(with: ["password", "password_hash", "generated_password"]))
            }
        }
    }
}
