import BizEvents
import BizTesting
import Testing

extension GatewayEndToEndTests {
    /// README's role matrix, row by row: who gets 403 on which route. Every other answer (2xx, 404, 409, 422) means
    /// the role passed; a 401 or a 5xx fails the test.
    @Test("the role matrix of README: admin, manager, viewer of a tenant and the platform's admin on every route")
    func roleMatrix() async throws {
        try await withSystem(.embedded) { system, https, platform in
            let north = try await Self.tenant(
                https, system, platform: platform, document: "11.222.333/0001-81", email: "admin@norte.com.br")
            var tokens = ["admin": north.token, "platform": platform]
            for role in ["manager", "viewer"] {
                let email = "\(role)@norte.com.br"
                let created = try await https.json(
                    "POST", "/v1/users",
                    [
                        "email": .string(email), "name": .string(role), "roles": [.string(role)],
                        "password": .string("senha-\(role)-123"),
                    ], bearer: north.token)
                #expect(created.status == 201, "\(created.text)")
                let login = try await login(https, system, email, "senha-\(role)-123")
                tokens[role] = try #require(login.json?["access_token"]?.stringValue, "\(login.text)")
            }
            let everyone: Set<String> = ["admin", "manager", "viewer", "platform"]
            let writers: Set<String> = ["admin", "manager", "platform"]
            let admins: Set<String> = ["admin", "platform"]
            let platformOnly: Set<String> = ["platform"]
            let rows: [(String, String, JSONValue?, Set<String>)] = [
                ("GET", "/v1/teams", nil, everyone),
                ("GET", "/v1/accounts", nil, everyone),
                ("GET", "/v1/cost-centers", nil, everyone),
                ("POST", "/v1/teams", ["name": "Matriz"], writers),
                (
                    "POST", "/v1/accounts", ["name": "Ana", "document_registry": "52998224725", "email": "ana@x.com"],
                    writers
                ),
                ("POST", "/v1/cost-centers", ["code": "M", "name": "Matriz"], writers),
                ("GET", "/v1/users", nil, admins),
                ("POST", "/v1/users", ["email": "novo@norte.com.br", "name": "Novo", "roles": ["viewer"]], admins),
                ("GET", "/v1/oauth-clients", nil, admins),
                ("POST", "/v1/oauth-clients", ["name": "ERP", "roles": ["viewer"]], admins),
                ("GET", "/v1/client-contractors", nil, platformOnly),
                ("GET", "/v1/audit/events", nil, admins),
            ]
            for (method, path, body, allowed) in rows {
                for (role, token) in tokens.sorted(by: { $0.key < $1.key }) {
                    let response =
                        if let body {
                            try await https.json(method, path, body, bearer: token)
                        } else {
                            try await https.request(method, path, bearer: token)
                        }
                    #expect(
                        response.status != 401 && response.status < 500, "\(role) \(method) \(path): \(response.text)")
                    #expect(
                        (response.status != 403) == allowed.contains(role),
                        "\(role) \(method) \(path) → \(response.status)")
                }
            }
        }
    }
}
