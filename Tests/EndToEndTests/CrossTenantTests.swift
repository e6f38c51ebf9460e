import BizEvents
import BizTesting
import Testing

extension GatewayEndToEndTests {
    /// One tenant's resource of each kind, as another tenant's admin would try to reach it.
    struct Foreign {
        var path: String
        var entityType: String
        var id: String
        /// The actions the resource has beyond read, list, disable and enable.
        var patchable = true
        var deletable = true
        var extra: [String] = []
    }

    @Test(
        "the cross-tenant matrix: another tenant's resources are 404 to every action, and the attempts leave no trace",
        arguments: Topology.allCases)
    func crossTenantMatrix(_ topology: Topology) async throws {
        try await withSystem(topology) { system, https, platform in
            let north = try await Self.tenant(
                https, system, platform: platform, document: "11.222.333/0001-81", email: "admin@norte.com.br")
            let south = try await Self.tenant(
                https, system, platform: platform, document: "12.ABC.345/01DE-35", email: "admin@sul.com.br")
            func create(_ path: String, _ body: JSONValue) async throws -> String {
                let created = try await https.json("POST", path, body, bearer: south.token)
                #expect(created.status == 201, "\(path): \(created.text)")
                return try #require(created.json?["public_id"]?.stringValue, "\(path): \(created.text)")
            }
            let resources = [
                Foreign(path: "/v1/teams", entityType: "team", id: try await create("/v1/teams", ["name": "Sul"])),
                Foreign(
                    path: "/v1/accounts", entityType: "account",
                    id: try await create(
                        "/v1/accounts", ["name": "Ana", "document_registry": "52998224725", "email": "ana@sul.com.br"])),
                Foreign(
                    path: "/v1/cost-centers", entityType: "cost_center",
                    id: try await create("/v1/cost-centers", ["code": "SUL", "name": "Sul"])),
                Foreign(
                    path: "/v1/users", entityType: "user",
                    id: try await create(
                        "/v1/users", ["email": "bia@sul.com.br", "name": "Bia", "roles": ["viewer"]]),
                    extra: ["reset-password"]),
                Foreign(
                    path: "/v1/oauth-clients", entityType: "client",
                    id: try await create("/v1/oauth-clients", ["name": "ERP Sul", "roles": ["viewer"]]),
                    patchable: false, deletable: false, extra: ["rotate-secret"]),
            ]

            // North's admin tries everything on each; every answer is 404, and no list shows the resource.
            var attempts: [String] = []
            for resource in resources {
                let item = "\(resource.path)/\(resource.id)"
                var tries: [HTTPSClient.Response] = [
                    try await https.request("GET", item, bearer: north.token),
                    try await https.request("POST", item + "/disable", bearer: north.token),
                    try await https.request("POST", item + "/enable", bearer: north.token),
                    try await https.request(
                        "GET", "/v1/audit/entities/\(resource.entityType)/\(resource.id)/versions", bearer: north.token),
                ]
                if resource.patchable {
                    tries.append(try await https.json("PATCH", item, ["name": "Invadido"], bearer: north.token))
                }
                if resource.deletable { tries.append(try await https.request("DELETE", item, bearer: north.token)) }
                for action in resource.extra {
                    tries.append(try await https.request("POST", "\(item)/\(action)", bearer: north.token))
                }
                for response in tries {
                    #expect(response.status == 404, "\(resource.entityType): \(response.status) \(response.text)")
                    attempts += response.traceID.map { [$0] } ?? []
                }
                let list = try await https.request("GET", resource.path, bearer: north.token)
                #expect(list.status == 200, "\(list.text)")
                #expect(!list.text.contains(resource.id), "\(resource.path) lists another tenant's \(resource.id)")
            }
            #expect(attempts.count == 30)

            // South changes each once itself: once that is audited, anything the attempts had caused would be too
            // (per-entity order), and each history is exactly south's two changes.
            for resource in resources {
                let disabled = try await https.request(
                    "POST", "\(resource.path)/\(resource.id)/disable", bearer: south.token)
                #expect(disabled.status == 200, "\(resource.entityType): \(disabled.text)")
            }
            for resource in resources {
                let versions = try await versions(https, platform, resource.entityType, resource.id, count: 2)
                #expect(versions.map { $0["action_type"] } == ["new", "disable"], "\(resource.entityType)")
                #expect(
                    versions.allSatisfy { $0["envelope"]?["metadata"]?["owner_id"] == .string(south.adminID) },
                    "\(resource.entityType)")
                #expect(versions.allSatisfy { $0["tenant_id"] == .string(south.id) }, "\(resource.entityType)")
            }
            for trace in attempts {
                let found = try await https.request("GET", "/v1/audit/events?trace_id=\(trace)", bearer: platform)
                #expect(found.json?["items"]?.arrayValue?.isEmpty == true, "trace \(trace): \(found.text)")
            }

            // Each tenant's admins read their own trail, and only it.
            let team = resources[0].id
            #expect(
                try await https.request("GET", "/v1/audit/entities/team/\(team)/versions", bearer: south.token)
                    .json?["items"]?.arrayValue?.count == 2)
            let ownership = try await https.request("GET", "/v1/audit/ownerships/\(team)", bearer: south.token)
            #expect(ownership.json?["event_count"] == 2, "\(ownership.text)")
            #expect(
                try await https.request("GET", "/v1/audit/ownerships/\(team)", bearer: north.token).status == 404)
            let northTrail = try await https.request("GET", "/v1/audit/events?page_size=500", bearer: north.token)
            let northItems = try #require(northTrail.json?["items"]?.arrayValue, "\(northTrail.text)")
            #expect(!northItems.isEmpty)
            #expect(northItems.allSatisfy { $0["metadata"]?["tenant_id"] == .string(north.id) })
            let named = try await https.request("GET", "/v1/audit/events?tenant_id=\(south.id)", bearer: north.token)
            #expect(named.json?["items"]?.arrayValue?.isEmpty == true, "\(named.text)")
            let southTrail = try await https.request("GET", "/v1/audit/events?tenant_id=\(south.id)", bearer: platform)
            #expect((southTrail.json?["items"]?.arrayValue?.count ?? 0) >= 10, "\(southTrail.text)")
        }
    }
}

extension GatewayEndToEndTests {
    @Test(
        "every new create honours Idempotency-Key (a secret shown once is not kept for the replay), every new PATCH If-Match",
        arguments: Topology.allCases)
    func newRoutesContract(_ topology: Topology) async throws {
        try await withSystem(topology) { system, https, platform in
            let north = try await Self.tenant(
                https, system, platform: platform, document: "11.222.333/0001-81", email: "admin@norte.com.br")
            let creates: [(String, JSONValue, String)] = [
                (
                    "/v1/client-contractors",
                    [
                        "legal_name": "Sul Ltda", "document": "12.ABC.345/01DE-35", "contact_email": "c@sul.com.br",
                        "contract": ["plan": "pro"], "admin": ["email": "admin@sul.com.br"],
                    ], platform
                ),
                ("/v1/cost-centers", ["code": "OPS", "name": "Operações"], north.token),
                ("/v1/users", ["email": "bia@norte.com.br", "name": "Bia", "roles": ["viewer"]], north.token),
                ("/v1/oauth-clients", ["name": "ERP", "roles": ["viewer"]], north.token),
            ]
            for (index, (path, body, token)) in creates.enumerated() {
                let key = ["Idempotency-Key": "create-\(index)"]
                let first = try await https.json("POST", path, body, bearer: token, headers: key)
                #expect(first.status == 201, "\(path): \(first.text)")
                let again = try await https.json("POST", path, body, bearer: token, headers: key)
                #expect(again.status == 201, "\(path): \(again.text)")
                #expect(again.headers["idempotent-replayed"] == "true", "\(path)")
                #expect(again.json?["public_id"] == first.json?["public_id"], "\(path)")
                // A secret shown once is in the first answer only.
                let secrets = [
                    "/v1/client-contractors": "generated_password", "/v1/users": "generated_password",
                    "/v1/oauth-clients": "client_secret",
                ]
                if let secret = secrets[path] {
                    // As a key (a value such as "client_secret_basic" is no secret).
                    #expect(first.text.contains("\"\(secret)\":"), "\(path): \(first.text)")
                    #expect(!again.text.contains("\"\(secret)\":"), "\(path) replayed its \(secret)")
                }
                let listed = try await https.request("GET", path + "?page_size=500", bearer: token)
                let ids = listed.json?["items"]?.arrayValue?.compactMap { $0["public_id"]?.stringValue } ?? []
                #expect(ids.filter { $0 == first.json?["public_id"]?.stringValue }.count == 1, "\(path)")
            }

            // A stale If-Match is 412 on every new PATCH route; the current one passes.
            let center = try #require(
                try await https.request("GET", "/v1/cost-centers", bearer: north.token).json?["items"]?.arrayValue?
                    .first?["public_id"]?.stringValue)
            let user = try #require(
                try await https.request("GET", "/v1/users", bearer: north.token).json?["items"]?.arrayValue?
                    .first { $0["email"] == "bia@norte.com.br" }?["public_id"]?.stringValue)
            for (path, change, token) in [
                ("/v1/cost-centers/\(center)", ["name": "Ops"] as JSONValue, north.token),
                ("/v1/users/\(user)", ["name": "Beatriz"], north.token),
                ("/v1/client-contractors/\(north.id)", ["trade_name": "Norte"], platform),
            ] {
                let current = try #require(try await https.request("GET", path, bearer: token).headers["etag"])
                let stale = try await https.json("PATCH", path, change, bearer: token, headers: ["If-Match": "\"999\""])
                #expect(stale.status == 412, "\(path): \(stale.text)")
                let fresh = try await https.json("PATCH", path, change, bearer: token, headers: ["If-Match": current])
                #expect(fresh.status == 200, "\(path): \(fresh.text)")
                #expect(fresh.headers["etag"] != current)
            }
        }
    }
}
