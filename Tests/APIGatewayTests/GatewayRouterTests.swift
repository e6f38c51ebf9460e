import APIGateway
import BizEvents
import BizRuntime
import BizServiceKit
import BizTesting
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

/// The gateway's routes driven in-process (`app.test(.router)`) against the real services over the in-process gRPC
/// transport and temporary SQLite databases: no socket, no executable.
@Suite("Gateway routes over in-process services")
struct GatewayRouterTests {
    func withGateway<T: Sendable>(_ body: @Sendable (any TestClientProtocol, String) async throws -> T) async throws
        -> T
    {
        try await withTemporaryDirectory { directory in
            let logger = Logger(label: "test")
            return try await InProcessPlatform.run(testConfiguration(directory: directory), logger: logger) {
                platform in
                let app = Application(router: platform.router, logger: logger)
                return try await app.test(.router) { client in
                    let token = try await client.execute(
                        uri: "/oauth2/token", method: .post,
                        headers: [.contentType: "application/x-www-form-urlencoded"],
                        body: ByteBuffer(
                            string: "grant_type=password&client_id=\(TestCredentials.clientID)"
                                + "&client_secret=\(TestCredentials.clientSecret)&username=\(TestCredentials.adminEmail)"
                                + "&password=\(TestCredentials.adminPassword.replacingOccurrences(of: " ", with: "+"))")
                    ) { response in
                        try #require(try Self.json(response)["access_token"]?.stringValue, "\(response.status)")
                    }
                    return try await body(client, token)
                }
            }
        }
    }

    static func json(_ response: TestResponse) throws -> JSONValue {
        try JSONParser.parse(Array(response.body.readableBytesView))
    }

    static func headers(_ token: String, json: Bool = false) -> HTTPFields {
        var fields: HTTPFields = [.authorization: "Bearer \(token)"]
        if json { fields[.contentType] = "application/json" }
        return fields
    }

    @Test("a team created through the routes is read back with its ETag, and its event is audited")
    func createAndRead() async throws {
        try await withGateway { client, token in
            let created = try await client.execute(
                uri: "/v1/teams", method: .post, headers: Self.headers(token, json: true),
                body: ByteBuffer(string: #"{"name": "Vendas", "description": "Loja 1"}"#)
            ) { response in
                #expect(response.status == .created)
                #expect(response.headers[.eTag] == #""1""#)
                return try Self.json(response)
            }
            let id = try #require(created["public_id"]?.stringValue)
            try await client.execute(uri: "/v1/teams/\(id)", method: .get, headers: Self.headers(token)) { response in
                let team = try Self.json(response)
                #expect(response.status == .ok)
                #expect(team["name"] == "Vendas")
            }
            var audited = false
            for _ in 0..<100 where !audited {
                audited = try await client.execute(
                    uri: "/v1/audit/entities/team/\(id)/versions", method: .get, headers: Self.headers(token)
                ) { response in try Self.json(response)["items"]?.arrayValue?.count == 1 }
                if !audited { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(audited)
        }
    }

    @Test("no token is 401 problem+json with WWW-Authenticate")
    func unauthenticated() async throws {
        try await withGateway { client, _ in
            try await client.execute(uri: "/v1/teams", method: .get) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.contentType] == "application/problem+json")
                #expect(response.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
            }
        }
    }

    @Test("a method the document does not declare on a path it does is 405 with Allow; a declared one is served")
    func methodNotAllowed() async throws {
        try await withGateway { client, token in
            for (method, path, allow) in [
                (HTTPRequest.Method.trace, "/v1/teams", "GET, POST"),
                (.put, "/v1/teams/any-id", "DELETE, GET, PATCH"),
                (.delete, "/v1/teams", "GET, POST"),
            ] {
                try await client.execute(uri: path, method: method, headers: Self.headers(token)) { response in
                    #expect(response.status == .methodNotAllowed, "\(method) \(path)")
                    #expect(response.headers[.allow] == allow, "\(method) \(path)")
                }
            }
            try await client.execute(uri: "/v1/teams", method: .get, headers: Self.headers(token)) { response in
                #expect(response.status == .ok)
            }
            // A path no template matches, an empty parameter included: not the document's to refuse.
            for path in ["/v1/teams/", "/nowhere"] {
                try await client.execute(uri: path, method: .put, headers: Self.headers(token)) { response in
                    #expect(response.status != .methodNotAllowed, "\(path)")
                    #expect(response.headers[.allow] == nil, "\(path)")
                }
            }
        }
    }

    @Test("a token without the api scope is 403 insufficient_scope on /v1, and still reads /oauth2/userinfo")
    func insufficientScope() async throws {
        try await withGateway { client, _ in
            let openID = try await client.execute(
                uri: "/oauth2/token", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(
                    string: "grant_type=password&scope=openid&client_id=\(TestCredentials.clientID)"
                        + "&client_secret=\(TestCredentials.clientSecret)&username=\(TestCredentials.adminEmail)"
                        + "&password=\(TestCredentials.adminPassword.replacingOccurrences(of: " ", with: "+"))")
            ) { response in
                try #require(try Self.json(response)["access_token"]?.stringValue, "\(response.status)")
            }
            try await client.execute(uri: "/v1/teams", method: .get, headers: Self.headers(openID)) { response in
                #expect(response.status == .forbidden)
                #expect(response.headers[.wwwAuthenticate]?.contains(#"error="insufficient_scope""#) == true)
                #expect(response.headers[.wwwAuthenticate]?.contains(#"scope="api""#) == true)
            }
            try await client.execute(uri: "/oauth2/userinfo", method: .get, headers: Self.headers(openID)) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test("an invalid CPF is 422 naming document_registry")
    func invalidCPF() async throws {
        try await withGateway { client, token in
            try await client.execute(
                uri: "/v1/accounts", method: .post, headers: Self.headers(token, json: true),
                body: ByteBuffer(
                    string: #"{"name": "Maria", "document_registry": "11111111111", "email": "maria@example.com"}"#)
            ) { response in
                let problem = try Self.json(response)
                #expect(response.status == .unprocessableContent)
                #expect(problem["field"] == "document_registry")
            }
        }
    }

    @Test("/health/ready probes every registered service over the in-process transport")
    func ready() async throws {
        try await withGateway { client, _ in
            // Each probe has two seconds; on a loaded machine a first round may miss one, so look for a while.
            var status = HTTPResponse.Status.serviceUnavailable
            var body = ""
            for _ in 0..<5 where status != .ok {
                (status, body) = try await client.execute(uri: "/health/ready", method: .get) { response in
                    (response.status, String(buffer: response.body))
                }
            }
            #expect(status == .ok, "\(body)")
        }
    }
}
