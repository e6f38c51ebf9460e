import BizEvents
import BizProtos
import GRPCCore
import HTTPTypes
import Hummingbird

/// `/v1/oauth-clients` (admins; platform admins in any tenant by naming `tenant_id`): register (201, the secret
/// shown once), read, list, disable, enable, and `POST …/rotate-secret` (a new secret shown once). No body ever holds
/// a stored secret or its hash.
struct ClientRoutes<Transport: ClientTransport> {
    var clients: ServiceClients<Transport>

    func register(on v1: RouterGroup<GatewayContext>) {
        let identity = clients.identity
        v1.post("oauth-clients") { request, context in
            let body = try await JSONBody.read(
                request, context: context,
                allowed: [
                    "name", "roles", "grant_types", "first_party", "tenant_id", "redirect_uris",
                    "token_endpoint_auth_method",
                ])
            var message = Bizretail_Identity_V1_CreateClientRequest()
            message.name = try body.string("name", required: true)!
            message.roles = try body.strings("roles") ?? []
            message.grantTypes = try body.strings("grant_types") ?? ["client_credentials"]
            message.firstParty = try body.bool("first_party") ?? false
            message.redirectUris = try body.strings("redirect_uris") ?? []
            switch try body.string("token_endpoint_auth_method") ?? "client_secret_basic" {
            case "client_secret_basic", "client_secret_post": message.publicClient = false
            case "none": message.publicClient = true
            default:
                throw Problem.badRequest(
                    "token_endpoint_auth_method must be client_secret_basic, client_secret_post or none",
                    field: "token_endpoint_auth_method")
            }
            message.tenantID = try body.tenant()
            let created = try await clients.call(context) { metadata in
                try await identity.createClient(message, metadata: metadata)
            }
            return Self.secretShown(created, status: .created)
        }
        v1.get("oauth-clients") { request, context in
            let (size, token) = try request.page()
            let tenant = try request.tenantFilter()
            let page = try await clients.call(context) { metadata in
                try await identity.listClients(
                    .with {
                        $0.pageSize = size
                        $0.pageToken = token
                        $0.tenantID = tenant
                    }, metadata: metadata)
            }
            return pageResponse(page.clients.map(\.json), next: page.nextPageToken)
        }
        v1.get("oauth-clients/:id") { _, context in
            let id = try context.parameters.require("id")
            let client = try await clients.call(context) { metadata in
                try await identity.getClient(.with { $0.publicID = id }, metadata: metadata)
            }
            return jsonResponse(client.json)
        }
        for (action, enabled) in [("disable", false), ("enable", true)] {
            v1.post("oauth-clients/:id/\(action)") { _, context in
                let id = try context.parameters.require("id")
                let client = try await clients.call(context) { metadata in
                    try await identity.setClientEnabled(
                        .with {
                            $0.publicID = id
                            $0.enabled = enabled
                        }, metadata: metadata)
                }
                return jsonResponse(client.json)
            }
        }
        v1.post("oauth-clients/:id/rotate-secret") { _, context in
            let id = try context.parameters.require("id")
            let rotated = try await clients.call(context) { metadata in
                try await identity.rotateClientSecret(.with { $0.publicID = id }, metadata: metadata)
            }
            return Self.secretShown(rotated, status: .ok)
        }
    }

    /// The client with its new secret: in this body only, which no cache may keep.
    static func secretShown(_ answer: Bizretail_Identity_V1_CreateClientResponse, status: HTTPResponse.Status)
        -> Response
    {
        secretShownResponse(
            answer.client.json, secret: ("client_secret", answer.clientSecret), status: status,
            location: "/v1/oauth-clients/\(answer.publicID)")
    }
}

extension Bizretail_Identity_V1_Client {
    var json: JSONValue {
        [
            "public_id": .string(publicID), "client_id": .string(clientID), "name": .string(name),
            "tenant_id": .string(tenantID), "roles": .array(roles.map(JSONValue.string)),
            "grant_types": .array(grantTypes.map(JSONValue.string)), "first_party": .bool(firstParty),
            "redirect_uris": .array(redirectUris.map(JSONValue.string)),
            "token_endpoint_auth_method": .string(publicClient ? "none" : "client_secret_basic"),
            "enabled": .bool(enabled),
            "created_at": .string(createdAt.rfc3339),
        ]
    }
}
