import BizEvents
import BizProtos
import GRPCCore
import HTTPTypes
import Hummingbird

/// `/v1/users` (admins; platform admins in any tenant by naming `tenant_id`): create (201, with a generated password
/// shown once when none is given), read, list, merge-patch update of `name` and `roles` (`If-Match`), disable,
/// enable, delete (204), and `POST …/reset-password`.
struct UserRoutes<Transport: ClientTransport> {
    var clients: ServiceClients<Transport>

    func register(on v1: RouterGroup<GatewayContext>) {
        let identity = clients.identity
        v1.post("users") { request, context in
            let body = try await JSONBody.read(
                request, context: context, allowed: ["email", "name", "password", "roles", "tenant_id"])
            var message = Bizretail_Identity_V1_CreateUserRequest()
            message.email = try body.string("email", required: true)!
            message.name = try body.string("name", required: true)!
            message.password = try body.string("password", nullable: true) ?? ""
            message.roles = try body.strings("roles") ?? []
            message.tenantID = try body.tenant()
            let user = try await clients.call(context) { metadata in
                try await identity.createUser(message, metadata: metadata)
            }
            return Self.user(user, status: .created, location: "/v1/users/\(user.publicID)")
        }
        v1.get("users") { request, context in
            let (size, token) = try request.page()
            let tenant = try request.tenantFilter()
            let page = try await clients.call(context) { metadata in
                try await identity.listUsers(
                    .with {
                        $0.pageSize = size
                        $0.pageToken = token
                        $0.tenantID = tenant
                    }, metadata: metadata)
            }
            return pageResponse(page.users.map(\.json), next: page.nextPageToken)
        }
        v1.get("users/:id") { _, context in
            let id = try context.parameters.require("id")
            let user = try await clients.call(context) { metadata in
                try await identity.getUser(.with { $0.publicID = id }, metadata: metadata)
            }
            return Self.user(user)
        }
        v1.patch("users/:id") { request, context in
            let id = try context.parameters.require("id")
            let body = try await JSONBody.read(request, context: context, allowed: ["name", "roles"])
            var message = Bizretail_Identity_V1_UpdateUserRequest()
            message.publicID = id
            if let name = try body.string("name") { message.name = name }
            if let roles = try body.strings("roles") { message.roles = .with { $0.roles = roles } }
            if let expected = try request.expectedVersion() { message.expectedVersion = expected }
            let user = try await clients.call(context) { metadata in
                try await identity.updateUser(message, metadata: metadata)
            }
            return Self.user(user)
        }
        v1.delete("users/:id") { _, context in
            let id = try context.parameters.require("id")
            _ = try await clients.call(context) { metadata in
                try await identity.deleteUser(.with { $0.publicID = id }, metadata: metadata)
            }
            return Response(status: .noContent)
        }
        for (action, enabled) in [("disable", false), ("enable", true)] {
            v1.post("users/:id/\(action)") { _, context in
                let id = try context.parameters.require("id")
                let user = try await clients.call(context) { metadata in
                    try await identity.setUserEnabled(
                        .with {
                            $0.publicID = id
                            $0.enabled = enabled
                        }, metadata: metadata)
                }
                return Self.user(user)
            }
        }
        v1.post("users/:id/unlock") { _, context in
            let id = try context.parameters.require("id")
            let user = try await clients.call(context) { metadata in
                try await identity.unlockUser(.with { $0.publicID = id }, metadata: metadata)
            }
            return Self.user(user)
        }
        v1.post("users/:id/reset-password") { request, context in
            let id = try context.parameters.require("id")
            let password: String
            if request.headers[.contentLength].flatMap(Int.init) ?? 0 > 0 || request.headers[.contentType] != nil {
                password =
                    try await JSONBody.read(request, context: context, allowed: ["password"])
                    .string("password", nullable: true) ?? ""
            } else {
                password = ""
            }
            let user = try await clients.call(context) { metadata in
                try await identity.resetUserPassword(
                    .with {
                        $0.publicID = id
                        $0.password = password
                    }, metadata: metadata)
            }
            return Self.user(user)
        }
    }

    /// A user's resource; a generated password is in this body only, which no cache may keep.
    static func user(
        _ user: Bizretail_Identity_V1_User, status: HTTPResponse.Status = .ok, location: String? = nil
    ) -> Response {
        var json = user.json
        if !user.generatedPassword.isEmpty, case .object(var object) = json {
            object["generated_password"] = .string(user.generatedPassword)
            json = .object(object)
        }
        var response = resourceResponse(json, version: user.version, status: status, location: location)
        if !user.generatedPassword.isEmpty { response.headers[.cacheControl] = "no-store" }
        return response
    }
}

extension Bizretail_Identity_V1_User {
    /// Never a password or a hash.
    var json: JSONValue {
        [
            "public_id": .string(publicID), "tenant_id": .string(tenantID), "email": .string(email),
            "name": .string(name), "roles": .array(roles.map(JSONValue.string)), "enabled": .bool(enabled),
            "version": .integer(version), "created_at": .string(createdAt.rfc3339),
            "updated_at": .string(updatedAt.rfc3339),
        ]
    }
}
