import BizEvents
import BizTesting
import Testing

extension GatewayEndToEndTests {
    /// Creates a contractor (a tenant) with its first admin and signs that admin in; returns the tenant and a token.
    static func tenant(
        _ https: HTTPSClient, _ system: any RunningSystem, platform token: String, document: String, email: String
    )
        async throws -> (id: String, token: String, adminID: String)
    {
        let password = "Senha-forte-\(document.suffix(4))"
        let created = try await https.json(
            "POST", "/v1/client-contractors",
            [
                "legal_name": .string("Empresa \(document)"), "document": .string(document),
                "contact_email": "contato@example.com", "contract": ["plan": "pro", "starts_on": "2026-01-01"],
                "admin": ["email": .string(email), "name": "Admin", "password": .string(password)],
            ], bearer: token)
        let id = try #require(created.json?["public_id"]?.stringValue, "\(created.status) \(created.text)")
        let adminID = try #require(created.json?["admin"]?["public_id"]?.stringValue)
        let clientID = try #require(system.bootstrapCredential("client_id"))
        let secret = try #require(system.bootstrapCredential("client_secret"))
        let login = try await https.token(
            ["grant_type": "password", "username": email, "password": password], basic: (clientID, secret))
        let access = try #require(login.json?["access_token"]?.stringValue, "\(login.status) \(login.text)")
        return (id, access, adminID)
    }

    @Test(
        "cost centers over HTTPS: a hierarchy per tenant, sealed from other tenants, only for an active contractor",
        arguments: Topology.allCases)
    func costCenters(_ topology: Topology) async throws {
        try await withSystem(topology) { system, https, platform in
            let north = try await Self.tenant(
                https, system, platform: platform, document: "11.222.333/0001-81", email: "admin@norte.com.br")
            let south = try await Self.tenant(
                https, system, platform: platform, document: "12.ABC.345/01DE-35", email: "admin@sul.com.br")

            let root = try await https.json(
                "POST", "/v1/cost-centers",
                ["code": "OPS", "name": "Operações", "budget": ["amount_cents": 1_000_000]],
                bearer: north.token)
            #expect(root.status == 201, "\(root.text)")
            let rootID = try #require(root.json?["public_id"]?.stringValue)
            #expect(root.json?["tenant_id"] == .string(north.id))
            #expect(root.json?["budget"]?["currency"] == "BRL")
            #expect(root.json?["parent_id"] == .null)
            #expect(root.json?["status"] == "active")
            let child = try await https.json(
                "POST", "/v1/cost-centers", ["code": "OPS-SP", "name": "São Paulo", "parent_id": .string(rootID)],
                bearer: north.token)
            let childID = try #require(child.json?["public_id"]?.stringValue, "\(child.text)")
            let leaf = try await https.json(
                "POST", "/v1/cost-centers",
                [
                    "code": "OPS-SP-1", "name": "Loja 1", "parent_id": .string(childID),
                    "budget": ["amount_cents": 5000, "currency": "usd"],
                ], bearer: north.token)
            let leafID = try #require(leaf.json?["public_id"]?.stringValue, "\(leaf.text)")
            #expect(leaf.json?["budget"]?["currency"] == "USD")

            let duplicate = try await https.json(
                "POST", "/v1/cost-centers", ["code": "OPS", "name": "Outro"], bearer: north.token)
            #expect(duplicate.status == 409)
            #expect(duplicate.json?["field"] == "code")
            let currency = try await https.json(
                "POST", "/v1/cost-centers", ["code": "X", "name": "X", "budget": ["currency": "ABC"]],
                bearer: north.token)
            #expect(currency.status == 422)
            #expect(currency.json?["field"] == "budget.currency")
            let shapeless = try await https.json(
                "POST", "/v1/cost-centers", ["code": "X", "name": "X", "budget": ["currency": "R$"]],
                bearer: north.token)
            #expect(shapeless.status == 400)
            #expect(shapeless.json?["field"] == "budget.currency")
            let cycle = try await https.json(
                "PATCH", "/v1/cost-centers/\(rootID)", ["parent_id": .string(leafID)], bearer: north.token)
            #expect(cycle.status == 422, "\(cycle.text)")
            #expect(cycle.json?["field"] == "parent_id")

            let tree = try await https.request("GET", "/v1/cost-centers/\(rootID)/tree", bearer: north.token)
            #expect(tree.status == 200)
            #expect(tree.json?["code"] == "OPS")
            #expect(tree.json?["children"]?.arrayValue?.first?["code"] == "OPS-SP")
            #expect(tree.json?["children"]?.arrayValue?.first?["children"]?.arrayValue?.first?["code"] == "OPS-SP-1")
            let children = try await https.request(
                "GET", "/v1/cost-centers?parent_id=\(rootID)", bearer: north.token)
            #expect(children.json?["items"]?.arrayValue?.map { $0["code"] } == ["OPS-SP"])

            // Another tenant sees none of it, and cannot hang its own under it.
            let hidden = try await https.request("GET", "/v1/cost-centers/\(rootID)", bearer: south.token)
            #expect(hidden.status == 404)
            let hiddenTree = try await https.request("GET", "/v1/cost-centers/\(rootID)/tree", bearer: south.token)
            #expect(hiddenTree.status == 404)
            let none = try await https.request("GET", "/v1/cost-centers", bearer: south.token)
            #expect(none.json?["items"]?.arrayValue?.count == 0)
            let foreignParent = try await https.json(
                "POST", "/v1/cost-centers", ["code": "OPS", "name": "Sul", "parent_id": .string(rootID)],
                bearer: south.token)
            #expect(foreignParent.status == 422)
            #expect(foreignParent.json?["field"] == "parent_id")
            let foreignChange = try await https.json(
                "PATCH", "/v1/cost-centers/\(rootID)", ["name": "x"], bearer: south.token)
            #expect(foreignChange.status == 404)
            // The same code in another tenant is fine.
            let southRoot = try await https.json(
                "POST", "/v1/cost-centers", ["code": "OPS", "name": "Operações Sul"], bearer: south.token)
            #expect(southRoot.status == 201, "\(southRoot.text)")

            // A team names one of its tenant's cost centers, checked with the Cost Center service.
            let team = try await https.json(
                "POST", "/v1/teams", ["name": "Vendas", "cost_center_id": .string(rootID)], bearer: north.token)
            #expect(team.status == 201, "\(team.text)")
            #expect(team.json?["cost_center_id"] == .string(rootID))
            let teamID = try #require(team.json?["public_id"]?.stringValue)
            let foreignTeam = try await https.json(
                "POST", "/v1/teams", ["name": "Vendas", "cost_center_id": .string(rootID)], bearer: south.token)
            #expect(foreignTeam.status == 422, "\(foreignTeam.text)")
            #expect(foreignTeam.json?["field"] == "cost_center_id")
            let unknownCenter = try await https.json(
                "PATCH", "/v1/teams/\(teamID)", ["cost_center_id": "not-an-id"], bearer: north.token)
            #expect(unknownCenter.status == 422)
            let cleared = try await https.json(
                "PATCH", "/v1/teams/\(teamID)", ["cost_center_id": .null], bearer: north.token)
            #expect(cleared.status == 200, "\(cleared.text)")
            #expect(cleared.json?["cost_center_id"] == .null)

            // The platform tenant has no cost centers; a suspended contractor's tenant can change none.
            let platformOwn = try await https.json(
                "POST", "/v1/cost-centers", ["code": "P", "name": "P"], bearer: platform)
            #expect(platformOwn.status == 422)
            #expect(platformOwn.json?["field"] == "tenant_id")
            let suspended = try await https.json(
                "PATCH", "/v1/client-contractors/\(north.id)", ["contract": ["status": "suspended"]], bearer: platform)
            #expect(suspended.status == 200, "\(suspended.text)")
            let refused = try await https.json(
                "POST", "/v1/cost-centers", ["code": "NEW", "name": "Nova"], bearer: north.token)
            #expect(refused.status == 422)
            #expect(refused.json?["field"] == "tenant_id")
            let stillReadable = try await https.request("GET", "/v1/cost-centers/\(rootID)", bearer: north.token)
            #expect(stillReadable.status == 200)
            _ = try await https.json(
                "PATCH", "/v1/client-contractors/\(north.id)", ["contract": ["status": "active"]], bearer: platform)

            // A parent with children cannot go; once they moved, it can.
            let busy = try await https.request("DELETE", "/v1/cost-centers/\(childID)", bearer: north.token)
            #expect(busy.status == 409)
            let moved = try await https.json(
                "PATCH", "/v1/cost-centers/\(leafID)", ["parent_id": .string(rootID)], bearer: north.token,
                headers: ["If-Match": "\"1\""])
            #expect(moved.status == 200, "\(moved.text)")
            let gone = try await https.request("DELETE", "/v1/cost-centers/\(childID)", bearer: north.token)
            #expect(gone.status == 204)

            // The audit trail: each change, the tenant's company as its data subject.
            let history = try await versions(https, platform, "cost_center", leafID, count: 2)
            #expect(history.map { $0["action_type"] } == ["new", "update"])
            let contractorHistory = try await versions(https, platform, "client_contractor", north.id, count: 3)
            let subject = contractorHistory[0]["envelope"]?["metadata"]?["ownership_id"]
            #expect(history[0]["envelope"]?["metadata"]?["ownership_id"] == subject)
            #expect(history[1]["envelope"]?["producer_service"] == "cost_center_service")

            let disabled = try await https.request("POST", "/v1/cost-centers/\(leafID)/disable", bearer: north.token)
            #expect(disabled.json?["status"] == "disabled", "\(disabled.text)")
            let enabled = try await https.request("POST", "/v1/cost-centers/\(leafID)/enable", bearer: north.token)
            #expect(enabled.json?["status"] == "active")
        }
    }
}
