import BizEvents

/// The OpenAPI 3.1 description served at `/openapi.json`, built from one table of operations.
enum OpenAPIDocument {
    struct Operation {
        var method: String
        var path: String
        var summary: String
        var secured = true
        var body: String? = nil
        var success: (status: String, schema: String?) = ("200", nil)
        var errors: [String] = ["400", "401", "403", "404"]
        var query: [String] = []
    }

    static let operations: [Operation] = [
        Operation(method: "get", path: "/health/live", summary: "Liveness", secured: false, errors: []),
        Operation(
            method: "get", path: "/health/ready", summary: "Readiness (services reachable)", secured: false,
            errors: ["503"]),
        Operation(
            method: "get", path: "/.well-known/openid-configuration", summary: "OpenID Provider metadata",
            secured: false, errors: []),
        Operation(
            method: "get", path: "/oauth2/jwks", summary: "Public signing keys (JWK Set)", secured: false, errors: []),
        Operation(
            method: "post", path: "/oauth2/token",
            summary: "Issue a token (client_credentials, password, refresh_token)",
            secured: false, body: "TokenRequest", success: ("200", "TokenResponse"), errors: ["400", "401"]
        ),
        Operation(
            method: "post", path: "/oauth2/revoke", summary: "Revoke a refresh token and its session (RFC 7009)",
            secured: false, body: "TokenRequest", errors: ["400", "401"]
        ),
        Operation(
            method: "post", path: "/oauth2/introspect", summary: "Introspect a token (RFC 7662)", secured: false,
            body: "TokenRequest", success: ("200", "Introspection"), errors: ["400", "401"]
        ),
        Operation(
            method: "get", path: "/oauth2/userinfo", summary: "The caller's user", success: ("200", "UserInfo"),
            errors: ["401"]),
        Operation(method: "get", path: "/openapi.json", summary: "This document", secured: false, errors: []),
        Operation(
            method: "post", path: "/v1/teams", summary: "Create a team", body: "TeamInput", success: ("201", "Team"),
            errors: ["400", "401", "403", "413"]),
        Operation(
            method: "get", path: "/v1/teams", summary: "List teams", success: ("200", "TeamPage"),
            query: ["page_size", "page_token"]),
        Operation(method: "get", path: "/v1/teams/{id}", summary: "Read a team", success: ("200", "Team")),
        Operation(
            method: "patch", path: "/v1/teams/{id}", summary: "Update a team (JSON merge patch; If-Match honoured)",
            body: "TeamInput", success: ("200", "Team"), errors: ["400", "401", "403", "404", "412"]),
        Operation(method: "delete", path: "/v1/teams/{id}", summary: "Delete a team", success: ("204", nil)),
        Operation(method: "post", path: "/v1/teams/{id}/disable", summary: "Disable a team", success: ("200", "Team")),
        Operation(method: "post", path: "/v1/teams/{id}/enable", summary: "Enable a team", success: ("200", "Team")),
        Operation(
            method: "post", path: "/v1/accounts", summary: "Create an account", body: "AccountInput",
            success: ("201", "Account"), errors: ["400", "401", "403", "409", "413", "422"]),
        Operation(
            method: "get", path: "/v1/accounts", summary: "List accounts", success: ("200", "AccountPage"),
            query: ["team_id", "page_size", "page_token"]),
        Operation(method: "get", path: "/v1/accounts/{id}", summary: "Read an account", success: ("200", "Account")),
        Operation(
            method: "patch", path: "/v1/accounts/{id}",
            summary: "Update an account (JSON merge patch; If-Match honoured)", body: "AccountInput",
            success: ("200", "Account"), errors: ["400", "401", "403", "404", "409", "412", "422"]),
        Operation(method: "delete", path: "/v1/accounts/{id}", summary: "Delete an account", success: ("204", nil)),
        Operation(
            method: "post", path: "/v1/accounts/{id}/disable", summary: "Disable an account",
            success: ("200", "Account")),
        Operation(
            method: "post", path: "/v1/accounts/{id}/enable", summary: "Enable an account", success: ("200", "Account")),
        Operation(
            method: "post", path: "/v1/client-contractors",
            summary: "Create a client contractor, its tenant and, when named, its first admin (platform admins)",
            body: "ContractorInput", success: ("201", "Contractor"),
            errors: ["400", "401", "403", "409", "413", "422", "503"]),
        Operation(
            method: "get", path: "/v1/client-contractors", summary: "List client contractors (platform admins)",
            success: ("200", "ContractorPage"), query: ["status", "document", "page_size", "page_token"]),
        Operation(
            method: "get", path: "/v1/client-contractors/{id}", summary: "Read a client contractor (platform admins)",
            success: ("200", "Contractor")),
        Operation(
            method: "patch", path: "/v1/client-contractors/{id}",
            summary: "Update a client contractor (JSON merge patch; If-Match honoured)", body: "ContractorInput",
            success: ("200", "Contractor"), errors: ["400", "401", "403", "404", "409", "412", "422"]),
        Operation(
            method: "delete", path: "/v1/client-contractors/{id}", summary: "Delete a client contractor (its tenant)",
            success: ("204", nil)),
        Operation(
            method: "post", path: "/v1/client-contractors/{id}/disable", summary: "Disable a client contractor",
            success: ("200", "Contractor")),
        Operation(
            method: "post", path: "/v1/client-contractors/{id}/enable", summary: "Enable a client contractor",
            success: ("200", "Contractor")),
        Operation(
            method: "post", path: "/v1/cost-centers",
            summary: "Create a cost center (an active client contractor's tenant)", body: "CostCenterInput",
            success: ("201", "CostCenter"), errors: ["400", "401", "403", "409", "413", "422", "503"]),
        Operation(
            method: "get", path: "/v1/cost-centers", summary: "List cost centers", success: ("200", "CostCenterPage"),
            query: ["parent_id", "code", "page_size", "page_token"]),
        Operation(
            method: "get", path: "/v1/cost-centers/{id}", summary: "Read a cost center", success: ("200", "CostCenter")),
        Operation(
            method: "get", path: "/v1/cost-centers/{id}/tree",
            summary: "A cost center and its descendants, nested in `children`", success: ("200", "CostCenter")),
        Operation(
            method: "patch", path: "/v1/cost-centers/{id}",
            summary: "Update a cost center (JSON merge patch; If-Match honoured)", body: "CostCenterInput",
            success: ("200", "CostCenter"), errors: ["400", "401", "403", "404", "409", "412", "422", "503"]),
        Operation(
            method: "delete", path: "/v1/cost-centers/{id}", summary: "Delete a cost center (none under it)",
            success: ("204", nil), errors: ["400", "401", "403", "404", "409", "422", "503"]),
        Operation(
            method: "post", path: "/v1/cost-centers/{id}/disable", summary: "Disable a cost center",
            success: ("200", "CostCenter")),
        Operation(
            method: "post", path: "/v1/cost-centers/{id}/enable", summary: "Enable a cost center",
            success: ("200", "CostCenter")),
        Operation(
            method: "post", path: "/v1/users",
            summary: "Create a user (admins; a generated password is returned once when none is given)",
            body: "UserInput", success: ("201", "User"), errors: ["400", "401", "403", "409", "413"]),
        Operation(
            method: "get", path: "/v1/users", summary: "List a tenant's users (admins)", success: ("200", "UserPage"),
            query: ["tenant_id", "page_size", "page_token"]),
        Operation(method: "get", path: "/v1/users/{id}", summary: "Read a user (admins)", success: ("200", "User")),
        Operation(
            method: "patch", path: "/v1/users/{id}", summary: "Change a user's name or roles (If-Match honoured)",
            body: "UserInput", success: ("200", "User"), errors: ["400", "401", "403", "404", "412", "422"]),
        Operation(
            method: "delete", path: "/v1/users/{id}", summary: "Delete a user (their sessions end)",
            success: ("204", nil), errors: ["400", "401", "403", "404", "422"]),
        Operation(
            method: "post", path: "/v1/users/{id}/disable", summary: "Disable a user (their sessions end)",
            success: ("200", "User"), errors: ["400", "401", "403", "404", "422"]),
        Operation(method: "post", path: "/v1/users/{id}/enable", summary: "Enable a user", success: ("200", "User")),
        Operation(
            method: "post", path: "/v1/users/{id}/reset-password",
            summary: "Set a new password (given, or generated and returned once); the user's sessions end",
            body: "PasswordInput", success: ("200", "User")),
        Operation(
            method: "post", path: "/v1/oauth-clients", summary: "Register an OAuth2 client (admins; the secret once)",
            body: "ClientInput", success: ("201", "Client"), errors: ["400", "401", "403", "409", "413"]),
        Operation(
            method: "get", path: "/v1/oauth-clients", summary: "List a tenant's OAuth2 clients (admins)",
            success: ("200", "ClientPage"), query: ["tenant_id", "page_size", "page_token"]),
        Operation(
            method: "get", path: "/v1/oauth-clients/{id}", summary: "Read an OAuth2 client (admins)",
            success: ("200", "Client")),
        Operation(
            method: "post", path: "/v1/oauth-clients/{id}/disable", summary: "Disable an OAuth2 client",
            success: ("200", "Client"), errors: ["400", "401", "403", "404", "422"]),
        Operation(
            method: "post", path: "/v1/oauth-clients/{id}/enable", summary: "Enable an OAuth2 client",
            success: ("200", "Client"), errors: ["400", "401", "403", "404", "422"]),
        Operation(
            method: "post", path: "/v1/oauth-clients/{id}/rotate-secret",
            summary: "Replace an OAuth2 client's secret (the new one once; the old one stops working)",
            success: ("200", "Client"), errors: ["400", "401", "403", "404", "422"]),
        Operation(
            method: "get", path: "/v1/audit/entities/{entity_type}/{entity_id}/versions",
            summary: "Every version of an entity (admins)", success: ("200", "VersionList")),
        Operation(
            method: "get", path: "/v1/audit/events",
            summary:
                "Stored events by trace, ownership, type or tenant (admins; a tenant's admins see their tenant's only)",
            success: ("200", "EventPage"),
            query: ["trace_id", "ownership_id", "event_type", "tenant_id", "page_size", "page_token"]),
        Operation(
            method: "get", path: "/v1/audit/ownerships/{ownership_id}",
            summary: "A data subject's ownership record (admins)", success: ("200", "Ownership")),
    ]

    static let schemas: [String: JSONValue] = [
        "Problem": object([
            "type": "string", "title": "string", "status": "integer", "detail": "string", "instance": "string",
            "field": "string",
        ]),
        "TokenRequest": object(
            [
                "grant_type": "string", "client_id": "string", "client_secret": "string", "username": "string",
                "password": "string", "refresh_token": "string", "scope": "string",
            ], required: ["grant_type"]),
        "TokenResponse": object([
            "access_token": "string", "token_type": "string", "expires_in": "integer", "refresh_token": "string",
            "scope": "string",
        ]),
        "Introspection": object([
            "active": "boolean", "token_type": "string", "scope": "string", "sub": "string", "exp": "integer",
            "iat": "integer", "iss": "string", "aud": "string", "client_id": "string", "tenant_id": "string",
        ]),
        "UserInfo": object([
            "sub": "string", "email": "string", "name": "string", "tenant_id": "string", "roles": "array",
        ]),
        "TeamInput": object(
            ["name": "string", "description": "string", "cost_center_id": "string"], required: ["name"]),
        "Team": object([
            "public_id": "string", "tenant_id": "string", "name": "string", "description": "string",
            "cost_center_id": "string",
            "enabled": "boolean", "version": "integer", "created_at": "string", "updated_at": "string",
        ]),
        "AccountInput": object(
            ["name": "string", "document_registry": "string", "email": "string", "team_ids": "array"],
            required: ["name", "document_registry", "email"]),
        "Account": object([
            "public_id": "string", "tenant_id": "string", "name": "string", "document_registry": "string",
            "email": "string", "team_ids": "array", "enabled": "boolean", "version": "integer", "created_at": "string",
            "updated_at": "string",
        ]),
        "ContractorInput": object(
            [
                "legal_name": "string", "trade_name": "string", "document": "string", "contact_email": "string",
                "contact_phone": "string", "address": "object", "contract": "object", "admin": "object",
            ], required: ["legal_name", "document", "contact_email", "contract"]),
        "Contractor": object([
            "public_id": "string", "tenant_id": "string", "legal_name": "string", "trade_name": "string",
            "document_type": "string", "document": "string", "contact_email": "string", "contact_phone": "string",
            "address": "object", "contract": "object", "admin": "object", "enabled": "boolean", "version": "integer",
            "created_at": "string", "updated_at": "string",
        ]),
        "ContractorPage": page("Contractor"),
        "UserInput": object(
            ["email": "string", "name": "string", "password": "string", "roles": "array", "tenant_id": "string"]),
        "PasswordInput": object(["password": "string"]),
        "User": object([
            "public_id": "string", "tenant_id": "string", "email": "string", "name": "string", "roles": "array",
            "enabled": "boolean", "version": "integer", "created_at": "string", "updated_at": "string",
            "generated_password": "string",
        ]),
        "UserPage": page("User"),
        "ClientInput": object(
            [
                "name": "string", "roles": "array", "grant_types": "array", "first_party": "boolean",
                "tenant_id": "string",
            ], required: ["name"]),
        "Client": object([
            "public_id": "string", "client_id": "string", "client_secret": "string", "name": "string",
            "tenant_id": "string", "roles": "array", "grant_types": "array", "first_party": "boolean",
            "enabled": "boolean", "created_at": "string",
        ]),
        "ClientPage": page("Client"),
        "CostCenterInput": object(
            ["code": "string", "name": "string", "parent_id": "string", "budget": "object"],
            required: ["code", "name"]),
        "CostCenter": object([
            "public_id": "string", "tenant_id": "string", "code": "string", "name": "string", "parent_id": "string",
            "budget": "object", "children": "array", "enabled": "boolean", "version": "integer",
            "created_at": "string", "updated_at": "string",
        ]),
        "CostCenterPage": page("CostCenter"),
        "TeamPage": page("Team"), "AccountPage": page("Account"), "EventPage": page(nil),
        "VersionList": object(["items": "array"]),
        "Ownership": object([
            "ownership_id": "string", "subject_entity_type": "string", "subject_entity_id": "string",
            "first_seen_at": "string", "last_seen_at": "string", "event_count": "integer", "producer_services": "array",
        ]),
    ]

    static func object(_ properties: [String: String], required: [String] = []) -> JSONValue {
        var schema: [String: JSONValue] = [
            "type": "object",
            "properties": .object(
                properties.mapValues { type in
                    type == "array" ? ["type": "array", "items": ["type": "string"]] : ["type": .string(type)]
                }),
        ]
        if !required.isEmpty { schema["required"] = .array(required.map(JSONValue.string)) }
        return .object(schema)
    }

    static func page(_ item: String?) -> JSONValue {
        let items: JSONValue = item.map { ["$ref": .string("#/components/schemas/\($0)")] } ?? ["type": "object"]
        return [
            "type": "object",
            "properties": [
                "items": ["type": "array", "items": items], "next_page_token": ["type": ["string", "null"]],
            ],
        ]
    }

    static func content(_ schema: String, type: String = "application/json") -> JSONValue {
        [.init(stringLiteral: type): ["schema": ["$ref": .string("#/components/schemas/\(schema)")]]]
    }

    static let json: String = {
        var paths: [String: [String: JSONValue]] = [:]
        for operation in operations {
            var responses: [String: JSONValue] = [:]
            var success: [String: JSONValue] = ["description": "Success"]
            if let schema = operation.success.schema { success["content"] = content(schema) }
            responses[operation.success.status] = .object(success)
            for status in operation.errors {
                responses[status] = [
                    "description": "Error", "content": content("Problem", type: "application/problem+json"),
                ]
            }
            var entry: [String: JSONValue] = ["summary": .string(operation.summary), "responses": .object(responses)]
            var parameters: [JSONValue] = operation.path.split(separator: "/").filter { $0.hasPrefix("{") }.map {
                part in
                [
                    "name": .string(String(part.dropFirst().dropLast())), "in": "path", "required": true,
                    "schema": ["type": "string"],
                ]
            }
            parameters += operation.query.map { ["name": .string($0), "in": "query", "schema": ["type": "string"]] }
            if operation.method == "post", operation.path.hasPrefix("/v1/") {
                parameters.append([
                    "name": "Idempotency-Key", "in": "header", "schema": ["type": "string", "maxLength": 255],
                    "description": "Retries with the same key get the first answer; another request with it gets 422.",
                ])
            }
            if !parameters.isEmpty { entry["parameters"] = .array(parameters) }
            if let body = operation.body {
                let type =
                    operation.path.hasPrefix("/oauth2/") ? "application/x-www-form-urlencoded" : "application/json"
                entry["requestBody"] = ["required": true, "content": content(body, type: type)]
            }
            if operation.secured { entry["security"] = [["bearer": []]] }
            paths[operation.path, default: [:]][operation.method] = .object(entry)
        }
        let document: JSONValue = [
            "openapi": "3.1.0",
            "info": ["title": "Biz Retail API", "version": "1.0.0"],
            "paths": .object(paths.mapValues(JSONValue.object)),
            "components": [
                "schemas": .object(schemas),
                "securitySchemes": ["bearer": ["type": "http", "scheme": "bearer", "bearerFormat": "JWT"]],
            ],
        ]
        return document.canonicalString()
    }()
}
