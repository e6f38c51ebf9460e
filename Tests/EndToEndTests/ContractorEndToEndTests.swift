import BizEvents
import BizTesting
import Testing

extension GatewayEndToEndTests {
    static let contractor: [String: JSONValue] = [
        "legal_name": "Mercado Exemplo Ltda", "trade_name": "Mercado Exemplo", "document": "12.abc.345/01de-35",
        "contact_email": "Contato@Exemplo.com.br", "contact_phone": "+55 (11) 98765-4321",
        "address": [
            "street": "Av. Paulista", "number": "1000", "city": "São Paulo", "state": "sp",
            "postal_code": "01310-100",
        ],
        "contract": ["plan": "pro", "starts_on": "2026-01-01"],
        "admin": ["email": "admin@exemplo.com.br", "name": "Ana Admin"],
    ]

    @Test(
        "a client contractor's life over HTTPS: its tenant and first admin, filters, merge patch, audit trail",
        arguments: Topology.allCases)
    func contractorLifecycle(_ topology: Topology) async throws {
        try await withSystem(topology) { system, https, token in
            let created = try await https.json(
                "POST", "/v1/client-contractors", .object(Self.contractor), bearer: token)
            #expect(created.status == 201, "\(created.text)")
            let contractor = try #require(created.json)
            let id = try #require(contractor["public_id"]?.stringValue)
            #expect(EventID.isUUID(id))
            #expect(contractor["tenant_id"] == .string(id))
            #expect(contractor["document"] == "12.ABC.345/01DE-35")
            #expect(contractor["document_type"] == "cnpj")
            #expect(contractor["contact_email"] == "contato@exemplo.com.br")
            #expect(contractor["contact_phone"] == "+5511987654321")
            #expect(contractor["address"]?["state"] == "SP")
            #expect(contractor["address"]?["postal_code"] == "01310100")
            #expect(contractor["contract"]?["status"] == "active")
            #expect(contractor["contract"]?["ends_on"] == .null)
            #expect(created.headers["location"] == "/v1/client-contractors/\(id)")
            #expect(created.headers["cache-control"] == "no-store")
            // The first admin, in the new tenant, with a password shown this once.
            #expect(contractor["admin"]?["email"] == "admin@exemplo.com.br")
            #expect(contractor["admin"]?["generated_password"]?.stringValue?.count == 24)
            #expect(contractor["admin"]?["public_id"]?.stringValue.map(EventID.isUUID) == true)

            // The same document again, in another punctuation: 409 naming it; nothing else is created.
            var duplicate = Self.contractor
            duplicate["document"] = "12ABC34501DE35"
            duplicate["admin"] = ["email": "other@exemplo.com.br"]
            let conflict = try await https.json("POST", "/v1/client-contractors", .object(duplicate), bearer: token)
            #expect(conflict.status == 409, "\(conflict.text)")
            #expect(conflict.json?["field"] == "document")
            // A taken admin email is the Identity Provider's 409, named as the request's field.
            var takenEmail = Self.contractor
            takenEmail["document"] = "11.222.333/0001-81"
            let taken = try await https.json("POST", "/v1/client-contractors", .object(takenEmail), bearer: token)
            #expect(taken.status == 409, "\(taken.text)")
            #expect(taken.json?["field"] == "admin.email")
            var wrongDigits = Self.contractor
            wrongDigits["document"] = "12.ABC.345/01DE-36"
            let invalid = try await https.json("POST", "/v1/client-contractors", .object(wrongDigits), bearer: token)
            #expect(invalid.status == 422, "\(invalid.text)")
            #expect(invalid.json?["field"] == "document")
            var noContract = Self.contractor
            noContract.removeValue(forKey: "contract")
            let missing = try await https.json("POST", "/v1/client-contractors", .object(noContract), bearer: token)
            #expect(missing.status == 400)
            #expect(missing.json?["field"] == "contract")
            var badEnd = Self.contractor
            badEnd["document"] = "11.222.333/0001-81"
            badEnd.removeValue(forKey: "admin")
            badEnd["contract"] = ["plan": "pro", "starts_on": "2026-01-01", "ends_on": "2025-12-31"]
            let before = try await https.json("POST", "/v1/client-contractors", .object(badEnd), bearer: token)
            #expect(before.status == 422)
            #expect(before.json?["field"] == "contract.ends_on")

            // A person (CPF) as a contractor; then the filters.
            let person = try await https.json(
                "POST", "/v1/client-contractors",
                [
                    "legal_name": "Maria Silva", "document": "529.982.247-25", "contact_email": "maria@example.com",
                    "contract": ["plan": "basic", "status": "suspended"],
                ], bearer: token)
            #expect(person.status == 201, "\(person.text)")
            #expect(person.json?["document"] == "529.982.247-25")
            #expect(person.json?["admin"] == nil)
            let suspended = try await https.request("GET", "/v1/client-contractors?status=suspended", bearer: token)
            #expect(suspended.json?["items"]?.arrayValue?.count == 1)
            let byDocument = try await https.request(
                "GET", "/v1/client-contractors?document=12.ABC.345%2F01DE-35", bearer: token)
            #expect(byDocument.json?["items"]?.arrayValue?.first?["public_id"] == .string(id))
            let page = try await https.request("GET", "/v1/client-contractors?page_size=1", bearer: token)
            #expect(page.json?["items"]?.arrayValue?.count == 1)
            #expect(page.json?["next_page_token"]?.stringValue != nil)

            // Merge patch with If-Match; a nested object changes only the fields it names.
            let patched = try await https.json(
                "PATCH", "/v1/client-contractors/\(id)",
                ["address": ["number": "1001"], "contract": ["ends_on": "2027-12-31"]], bearer: token,
                headers: ["If-Match": "\"1\""])
            #expect(patched.status == 200, "\(patched.text)")
            #expect(patched.json?["address"]?["number"] == "1001")
            #expect(patched.json?["address"]?["street"] == "Av. Paulista")
            #expect(patched.json?["contract"]?["ends_on"] == "2027-12-31")
            #expect(patched.headers["etag"] == "\"2\"")
            let stale = try await https.json(
                "PATCH", "/v1/client-contractors/\(id)", ["trade_name": "x"], bearer: token,
                headers: ["If-Match": "\"1\""])
            #expect(stale.status == 412)
            let unknown = try await https.json(
                "PATCH", "/v1/client-contractors/\(id)", ["address": ["planet": "Mars"]], bearer: token)
            #expect(unknown.status == 400)
            #expect(unknown.json?["field"] == "address.planet")

            let disabled = try await https.request("POST", "/v1/client-contractors/\(id)/disable", bearer: token)
            #expect(disabled.json?["enabled"] == false)
            let enabled = try await https.request("POST", "/v1/client-contractors/\(id)/enable", bearer: token)
            #expect(enabled.json?["enabled"] == true)
            let deleted = try await https.request("DELETE", "/v1/client-contractors/\(id)", bearer: token)
            #expect(deleted.status == 204)
            let gone = try await https.request("GET", "/v1/client-contractors/\(id)", bearer: token)
            #expect(gone.status == 404)

            // Every change is in the audit trail with the full state.
            let history = try await versions(https, token, "client_contractor", id, count: 5)
            #expect(history.map { $0["action_type"] } == ["new", "update", "disable", "enable", "delete"])
            let envelope = try #require(history[1]["envelope"])
            #expect(envelope["producer_service"] == "client_contractor_service")
            #expect(envelope["payload"]?["address"]?["number"] == "1001")
            #expect(envelope["payload"]?["document"] == "12ABC34501DE35")
            #expect(envelope["metadata"]?["ownership_id"]?.stringValue.map(EventID.isUUID) == true)
            #expect(envelope["payload"]?["admin"] == nil)
            _ = system
        }
    }
}

extension TopologySuites.DistributedFaultTests {
    @Test("a service a change depends on is down (identity, contractor, cost center): 503 and nothing is written")
    func contractorWithoutIdentity() async throws {
        try await withCluster { cluster, https, token, _ in
            // One call first, so the services hold the signing keys and the gateway its own token.
            let empty = try await https.request("GET", "/v1/client-contractors", bearer: token)
            #expect(empty.status == 200, "\(empty.text)")
            try await cluster.process("identity").stop()
            let refused = try await https.json(
                "POST", "/v1/client-contractors", .object(GatewayEndToEndTests.contractor), bearer: token)
            #expect(refused.status == 503, "\(refused.text)")
            #expect(refused.headers["content-type"] == "application/problem+json")
            let none = try await https.request("GET", "/v1/client-contractors", bearer: token)
            #expect(none.json?["items"]?.arrayValue?.count == 0, "\(none.text)")
            try await cluster.start("identity")
            var created: HTTPSClient.Response?
            try await BizRetailProcess.eventually("the contractor created once identity is back") {
                created = try await https.json(
                    "POST", "/v1/client-contractors", .object(GatewayEndToEndTests.contractor), bearer: token)
                return created?.status == 201
            }
            #expect(created?.json?["admin"]?["email"] == "admin@exemplo.com.br")

            // The Client Contractor service down: a cost center cannot be checked against its tenant, so none is
            // written (503); reads do not need it.
            let tenant = try await GatewayEndToEndTests.tenant(
                https, cluster, platform: token, document: "11.222.333/0001-81", email: "admin@norte.com.br")
            try await cluster.process("contractor").stop()
            let unchecked = try await https.json(
                "POST", "/v1/cost-centers", ["code": "OPS", "name": "Operações"], bearer: tenant.token)
            #expect(unchecked.status == 503, "\(unchecked.text)")
            let listed = try await https.request("GET", "/v1/cost-centers", bearer: tenant.token)
            #expect(listed.status == 200)
            #expect(listed.json?["items"]?.arrayValue?.count == 0)
            try await cluster.start("contractor")
            var center: HTTPSClient.Response?
            try await BizRetailProcess.eventually("a cost center once the contractor service is back") {
                center = try await https.json(
                    "POST", "/v1/cost-centers", ["code": "OPS", "name": "Operações"], bearer: tenant.token)
                return center?.status == 201
            }
            // The Cost Center service down: a team naming a cost center is 503, one naming none is created.
            let centerID = try #require(center?.json?["public_id"]?.stringValue)
            try await cluster.process("cost-center").stop()
            let team = try await https.json(
                "POST", "/v1/teams", ["name": "Vendas", "cost_center_id": .string(centerID)], bearer: tenant.token)
            #expect(team.status == 503, "\(team.text)")
            let plain = try await https.json("POST", "/v1/teams", ["name": "Vendas"], bearer: tenant.token)
            #expect(plain.status == 201, "\(plain.text)")
            let teams = try await https.request("GET", "/v1/teams", bearer: tenant.token)
            #expect(teams.json?["items"]?.arrayValue?.count == 1)
        }
    }
}
