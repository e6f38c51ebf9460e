import BizAuth
import BizEvents

/// The OpenAPI 3.1 description served at `/openapi.json` (a copy is committed as `docs/openapi.json`), built from one
/// table of operations. It states exactly what the API accepts (types, bounds, patterns, unknown fields refused) and
/// answers (every status, its content type and body): schemathesis checks the running gateway against it.
enum OpenAPIDocument {
    struct Operation {
        var method: String
        var path: String
        var id: String
        var summary: String
        var secured = true
        /// A component schema for a JSON body (a form for `/oauth2/`).
        var body: String? = nil
        var bodyRequired = true
        var success: (status: String, schema: String?) = ("200", nil)
        var successType = "application/json"
        /// Beyond those every operation of its kind may answer (see ``responses(_:)``).
        var errors: [String] = []
        var query: [(String, JSONValue)] = []
        /// Operations reachable with the created resource's `public_id` as their `{id}`.
        var links: [String] = []
        /// `ETag` and the If-Match precondition.
        var versioned = false
        /// A browser's page: its refusals in ``pageErrors`` are HTML pages, its ``errors`` problem+json, and it may
        /// answer with the ``redirects``.
        var pageErrors: [String] = []
        var redirects: [String] = []
    }

    // MARK: Parameters and field schemas

    static let pageSize: (String, JSONValue) = ("page_size", ["type": "integer", "minimum": 1, "maximum": 500])
    static let pageToken: (String, JSONValue) = ("page_token", ["type": "string"])
    static let page = [pageSize, pageToken]
    static func filter(_ name: String) -> (String, JSONValue) { (name, ["type": "string"]) }

    /// What TextInput.checked accepts: at most `limit` characters, no control character (but line breaks and tabs
    /// where allowed).
    static func text(_ limit: Int, lineBreaks: Bool = false, nullable: Bool = false) -> JSONValue {
        let controls = lineBreaks ? #"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"# : #"\x00-\x1f\x7f-\x9f"#
        return [
            "type": nullable ? ["string", "null"] : "string", "maxLength": .integer(Int64(limit)),
            "pattern": .string("^[^\(controls)]*$"),
        ]
    }

    /// What TextInput.required accepts: ``text(_:lineBreaks:nullable:)`` with a character other than white space.
    static func requiredText(_ limit: Int) -> JSONValue {
        let allowed = #"[^\x00-\x1f\x7f-\x9f]"#
        return [
            "type": "string", "minLength": 1, "maxLength": .integer(Int64(limit)),
            "pattern": .string(#"^\#(allowed)*[^\s\x00-\x1f\x7f-\x9f]\#(allowed)*$"#),
        ]
    }

    static let email: JSONValue = [
        "type": "string", "maxLength": .integer(Int64(EmailAddress.maximumLength)),
        "pattern": .string(EmailAddress.pattern),
    ]
    static let uuid: JSONValue = ["type": "string", "format": "uuid"]
    static let nullableString: JSONValue = ["type": ["string", "null"]]
    static let timestamp: JSONValue = ["type": "string", "format": "date-time"]
    static let roles: JSONValue = [
        "type": "array", "minItems": 1, "items": ["type": "string", "enum": ["admin", "manager", "viewer"]],
    ]
    static let tenantQuery: JSONValue = ["type": "string", "pattern": .string(tenantPattern)]
    static let tenantPattern =
        #"^(platform|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$"#
    static let tenant: JSONValue = [
        "type": ["string", "null"],
        "pattern": #"^(platform|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$"#,
    ]

    static let authorizationParameters = [
        "response_type", "client_id", "redirect_uri", "scope", "state", "nonce", "code_challenge",
        "code_challenge_method", "prompt", "ui_locales",
    ]
    static let authorizationQuery = authorizationParameters.map(filter)
    static let logoutParameters = ["id_token_hint", "post_logout_redirect_uri", "state", "client_id", "ui_locales"]
    static let logoutQuery = logoutParameters.map(filter)

    // MARK: Operations

    static let operations: [Operation] =
        [
            Operation(
                method: "get", path: "/health/live", id: "liveness", summary: "Liveness", secured: false,
                success: ("200", "Status")),
            Operation(
                method: "get", path: "/health/ready", id: "readiness", summary: "Readiness (services reachable)",
                secured: false, success: ("200", "Status"), errors: ["503"]),
            Operation(
                method: "get", path: "/.well-known/openid-configuration", id: "openidConfiguration",
                summary: "OpenID Provider metadata", secured: false, success: ("200", "Object")),
            Operation(
                method: "get", path: "/oauth2/jwks", id: "jwks", summary: "Public signing keys (JWK Set)",
                secured: false,
                success: ("200", "JWKSet"), successType: "application/jwk-set+json", errors: ["503"]),
            Operation(
                method: "post", path: "/oauth2/token", id: "token",
                summary: "Issue a token (client_credentials, password, authorization_code with PKCE, refresh_token)",
                secured: false, body: "TokenRequest", success: ("200", "TokenResponse"), errors: ["400", "401"]),
            Operation(
                method: "get", path: "/oauth2/authorize", id: "authorize",
                summary: "Authorization endpoint (RFC 6749 §4.1, PKCE S256): a code, or the login page",
                secured: false, success: ("200", "Page"), successType: "text/html", errors: ["503"],
                query: authorizationQuery, pageErrors: ["400"], redirects: ["302"]),
            Operation(
                method: "post", path: "/oauth2/authorize", id: "signIn",
                summary: "The login form: starts a session and answers with a code at the redirect URI", secured: false,
                body: "SignInForm", success: ("303", nil), errors: ["413", "415", "503"],
                pageErrors: ["400", "403", "429"]),
            Operation(
                method: "get", path: "/oauth2/logout", id: "endSession",
                summary: "RP-Initiated Logout: ends the session (asks first without id_token_hint)", secured: false,
                success: ("200", "Page"), successType: "text/html", errors: ["503"], query: logoutQuery,
                pageErrors: ["400"], redirects: ["303"]),
            Operation(
                method: "post", path: "/oauth2/logout", id: "endSessionConfirmed",
                summary: "RP-Initiated Logout, confirmed (the confirmation form, or a form with id_token_hint)",
                secured: false, body: "LogoutForm", success: ("200", "Page"), successType: "text/html",
                errors: ["413", "415", "503"], pageErrors: ["400", "403"], redirects: ["303"]),
            Operation(
                method: "post", path: "/oauth2/revoke", id: "revoke",
                summary: "Revoke a refresh token and its session (RFC 7009)", secured: false, body: "TokenInput",
                success: ("200", nil), errors: ["400", "401"]),
            Operation(
                method: "post", path: "/oauth2/introspect", id: "introspect", summary: "Introspect a token (RFC 7662)",
                secured: false, body: "TokenInput", success: ("200", "Introspection"), errors: ["400", "401"]),
            Operation(
                method: "get", path: "/oauth2/userinfo", id: "userinfo", summary: "The caller's user",
                success: ("200", "UserInfo"), errors: ["403", "503"]),
            Operation(
                method: "get", path: "/openapi.json", id: "openapi", summary: "This document", secured: false,
                success: ("200", "Object")),
        ]
        + resource(
            "teams", "Team", name: "team", extra: [])
        + resource("accounts", "Account", name: "account", query: [filter("team_id")], errors: ["409"])
        + resource(
            "client-contractors", "Contractor", name: "contractor",
            query: [
                ("status", ["type": "string", "enum": ["active", "suspended", "terminated"]]), ("document", document),
            ],
            errors: ["409"], who: " (platform admins)")
        + resource(
            "cost-centers", "CostCenter", name: "costCenter", query: [filter("parent_id"), filter("code")],
            errors: ["409"],
            extra: [
                Operation(
                    method: "get", path: "/v1/cost-centers/{id}/tree", id: "getCostCenterTree",
                    summary: "A cost center and its descendants, nested in `children`",
                    success: ("200", "CostCenterTree"))
            ])
        + resource(
            "users", "User", name: "user", query: [("tenant_id", tenantQuery)], errors: ["409"], who: " (admins)",
            extra: [
                Operation(
                    method: "post", path: "/v1/users/{id}/reset-password", id: "resetUserPassword",
                    summary: "Set a new password (given, or generated and returned once); the user's sessions end",
                    body: "PasswordInput", bodyRequired: false, success: ("200", "User"), versioned: true),
                Operation(
                    method: "post", path: "/v1/users/{id}/unlock", id: "unlockUser",
                    summary: "Release a sign-in lockout (too many failed logins) before it runs out",
                    success: ("200", "User"), versioned: true),
            ])
        + [
            Operation(
                method: "post", path: "/v1/oauth-clients", id: "createClient",
                summary: "Register an OAuth2 client (admins; the secret once)", body: "ClientInput",
                success: ("201", "Client"), errors: ["409"],
                links: ["getClient", "disableClient", "enableClient", "rotateClientSecret"]),
            Operation(
                method: "get", path: "/v1/oauth-clients", id: "listClients",
                summary: "List a tenant's OAuth2 clients (admins)", success: ("200", "ClientPage"),
                query: [("tenant_id", tenantQuery)] + page),
            Operation(
                method: "get", path: "/v1/oauth-clients/{id}", id: "getClient", summary: "Read an OAuth2 client",
                success: ("200", "Client")),
            Operation(
                method: "post", path: "/v1/oauth-clients/{id}/disable", id: "disableClient",
                summary: "Disable an OAuth2 client", success: ("200", "Client")),
            Operation(
                method: "post", path: "/v1/oauth-clients/{id}/enable", id: "enableClient",
                summary: "Enable an OAuth2 client", success: ("200", "Client")),
            Operation(
                method: "post", path: "/v1/oauth-clients/{id}/rotate-secret", id: "rotateClientSecret",
                summary: "Replace an OAuth2 client's secret (the new one once; the old one stops working)",
                success: ("200", "Client")),
            Operation(
                method: "get", path: "/v1/audit/entities/{entity_type}/{entity_id}/versions", id: "getEntityVersions",
                summary: "Every version of an entity (admins; a tenant's admins their tenant's)",
                success: ("200", "VersionList")),
            Operation(
                method: "get", path: "/v1/audit/events", id: "listAuditEvents",
                summary: "Stored events by trace, ownership, type or tenant (admins; a tenant's admins their tenant's)",
                success: ("200", "EventPage"),
                query: [
                    filter("trace_id"), filter("ownership_id"), filter("event_type"), filter("tenant_id"),
                    ("page_size", ["type": "integer", "minimum": 1, "maximum": 1000]), pageToken,
                ]),
            Operation(
                method: "get", path: "/v1/audit/ownerships/{ownership_id}", id: "getOwnership",
                summary: "A data subject's ownership record (admins; a tenant's admins their tenant's part)",
                success: ("200", "Ownership")),
        ]
        + resource(
            "webhooks", "Webhook", name: "webhook", errors: ["409"], who: " (admins; the secret once)",
            extra: [
                Operation(
                    method: "post", path: "/v1/webhooks/{id}/rotate-secret", id: "rotateWebhookSecret",
                    summary: "A new signing secret (shown once); the previous one keeps signing beside it for 24 h",
                    success: ("200", "Webhook"), versioned: true)
            ])
        + [
            Operation(
                method: "get", path: "/v1/notification-deliveries", id: "listNotificationDeliveries",
                summary: "The tenant's deliveries, newest first (admins)", success: ("200", "DeliveryPage"),
                query: [
                    ("status", ["type": "string", "enum": ["pending", "sent", "failed"]]),
                    ("channel", ["type": "string", "enum": ["webhook", "email"]]), filter("webhook_id"),
                    filter("rule_id"), filter("event_id"),
                ] + page),
            Operation(
                method: "get", path: "/v1/notification-deliveries/{id}", id: "getNotificationDelivery",
                summary: "A delivery with its attempts", success: ("200", "Delivery")),
            Operation(
                method: "post", path: "/v1/notification-deliveries/{id}/retry", id: "retryNotificationDelivery",
                summary: "Send a failed delivery again, with a new round of attempts", success: ("200", "Delivery"),
                errors: ["409"]),
            Operation(
                method: "post", path: "/v1/notification-templates", id: "createNotificationTemplate",
                summary: "Create a message template (admins; checked when saved)", body: "NotificationTemplateInput",
                success: ("201", "NotificationTemplate"), errors: ["409"], versioned: true),
            Operation(
                method: "get", path: "/v1/notification-templates", id: "listNotificationTemplates",
                summary: "List the tenant's message templates (admins)", success: ("200", "NotificationTemplatePage"),
                query: page),
            Operation(
                method: "get", path: "/v1/notification-templates/{key}", id: "getNotificationTemplate",
                summary: "Read a message template", success: ("200", "NotificationTemplate"), versioned: true),
            Operation(
                method: "patch", path: "/v1/notification-templates/{key}", id: "updateNotificationTemplate",
                summary: "Update a template's locales (JSON merge patch: null removes a locale; If-Match honoured)",
                body: "NotificationTemplatePatch", success: ("200", "NotificationTemplate"), errors: ["412"],
                versioned: true),
            Operation(
                method: "delete", path: "/v1/notification-templates/{key}", id: "deleteNotificationTemplate",
                summary: "Delete a message template no rule uses", success: ("204", nil), errors: ["409"]),
        ]
        + resource(
            "notification-rules", "NotificationRule", name: "notification rule", who: " (admins)")
        + [
            Operation(
                method: "get", path: "/v1/notifications", id: "listNotifications",
                summary: "The caller's in-app notifications, newest first, with the unread count",
                success: ("200", "InAppNotificationPage"),
                query: [("unread", ["type": "string", "enum": ["true", "false"]])] + page),
            Operation(
                method: "post", path: "/v1/notifications/{id}/read", id: "markNotificationRead",
                summary: "Mark one of the caller's notifications read", success: ("200", "InAppNotification")),
            Operation(
                method: "post", path: "/v1/notifications/read-all", id: "markAllNotificationsRead",
                summary: "Mark every one of the caller's notifications read", success: ("200", "MarkedCount")),
            Operation(
                method: "get", path: "/v1/notifications/unread-count", id: "countUnreadNotifications",
                summary:
                    "How many of the caller's notifications are unread (rolled out by the flag unread-count-route: 404 where it is off)",
                success: ("200", "UnreadCount"), errors: ["404"]),
            Operation(
                method: "get", path: "/v1/feature-flags", id: "listFeatureFlags",
                summary: "Every feature flag of the flag file, evaluated for the caller", success: ("200", "FlagList")),
            Operation(
                method: "get", path: "/v1/notifications/stream", id: "streamNotifications",
                summary: "The caller's new notifications as Server-Sent Events (`event: notification`)",
                success: ("200", nil), successType: "text/event-stream"),
        ]

    /// A `/v1/<plural>` resource's create, list, read, merge-patch update, delete, disable and enable.
    static func resource(
        _ plural: String, _ schema: String, name: String, query: [(String, JSONValue)] = [], errors: [String] = [],
        who: String = "", extra: [Operation] = []
    ) -> [Operation] {
        let upper = name.prefix(1).uppercased() + name.dropFirst()
        let item = "/v1/\(plural)/{id}"
        return [
            Operation(
                method: "post", path: "/v1/\(plural)", id: "create\(upper)", summary: "Create a \(name)\(who)",
                body: "\(schema)Input", success: ("201", schema), errors: errors,
                links: ["get", "update", "delete", "disable", "enable"].map { "\($0)\(upper)" }
                    + extra.map(\.id), versioned: true),
            Operation(
                method: "get", path: "/v1/\(plural)", id: "list\(upper)s", summary: "List \(plural)\(who)",
                success: ("200", "\(schema)Page"), query: query + page),
            Operation(
                method: "get", path: item, id: "get\(upper)", summary: "Read a \(name)", success: ("200", schema),
                versioned: true),
            Operation(
                method: "patch", path: item, id: "update\(upper)",
                summary: "Update a \(name) (JSON merge patch; If-Match honoured)", body: "\(schema)Patch",
                success: ("200", schema), errors: errors + ["412"], versioned: true),
            Operation(
                method: "delete", path: item, id: "delete\(upper)", summary: "Delete a \(name)", success: ("204", nil),
                errors: errors),
            Operation(
                method: "post", path: item + "/disable", id: "disable\(upper)", summary: "Disable a \(name)",
                success: ("200", schema), versioned: true),
            Operation(
                method: "post", path: item + "/enable", id: "enable\(upper)", summary: "Enable a \(name)",
                success: ("200", schema), versioned: true),
        ] + extra
    }

    // MARK: Schemas

    static func object(
        _ properties: [String: JSONValue], required: [String] = [], closed: Bool = false
    ) -> JSONValue {
        var schema: [String: JSONValue] = ["type": "object", "properties": .object(properties)]
        if !required.isEmpty { schema["required"] = .array(required.sorted().map(JSONValue.string)) }
        if closed { schema["additionalProperties"] = false }
        return .object(schema)
    }

    static func page(_ item: String) -> JSONValue {
        object(
            [
                "items": ["type": "array", "items": ["$ref": .string("#/components/schemas/\(item)")]],
                "next_page_token": nullableString,
            ], required: ["items", "next_page_token"])
    }

    static let string: JSONValue = ["type": "string"]
    static let integer: JSONValue = ["type": "integer"]
    static let boolean: JSONValue = ["type": "boolean"]
    static let strings: JSONValue = ["type": "array", "items": ["type": "string"]]
    static let anyObject: JSONValue = ["type": "object"]

    static let teamFields: [String: JSONValue] = [
        "name": requiredText(200), "description": text(2_000, lineBreaks: true, nullable: true),
        "cost_center_id": nullableString,
    ]
    static let accountFields: [String: JSONValue] = [
        "name": requiredText(200), "document_registry": ["type": "string", "minLength": 1], "email": email,
        "team_ids": ["type": "array", "maxItems": 100, "items": string],
    ]
    static let costCenterFields: [String: JSONValue] = [
        "code": ["type": "string", "pattern": "^[A-Za-z0-9._/-]{1,32}$"], "name": requiredText(200),
        "parent_id": nullableString,
        // null: the default (0 BRL on create, unchanged on update).
        "budget": [
            "anyOf": [
                ["type": "null"],
                object(
                    [
                        "amount_cents": ["type": "integer", "minimum": 0, "maximum": 9_007_199_254_740_991],
                        "currency": ["type": "string", "pattern": "^[A-Za-z]{3}$"],
                    ], closed: true),
            ]
        ],
    ]
    static let webhookFields: [String: JSONValue] = [
        "url": ["type": "string", "minLength": 1, "maxLength": 2048],
        "event_types": eventTypes, "enabled": boolean,
    ]
    static let templateKey: JSONValue = ["type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,63}$"]
    static let templateContent: JSONValue = object(
        [
            "subject": ["type": "string", "minLength": 1, "maxLength": 500],
            "text": ["type": "string", "minLength": 1, "maxLength": 65_536],
            "html": ["type": ["string", "null"], "maxLength": 65_536],
        ], required: ["subject", "text"], closed: true)

    /// pt-BR (the default: required in a new template) and en.
    static func templateLocales(nullable: Bool) -> JSONValue {
        let content: JSONValue = nullable ? ["oneOf": [templateContent, ["type": "null"]]] : templateContent
        return object(["pt-BR": content, "en": content], required: nullable ? [] : ["pt-BR"], closed: true)
    }

    static let eventTypes: JSONValue = [
        "type": "array", "minItems": 1, "maxItems": 100,
        "items": ["type": "string", "pattern": #"^(\*|[a-z0-9_]{1,64}\.(\*|[a-z0-9_]{1,64}))$"#],
    ]
    static let fieldName: JSONValue = ["type": "string", "pattern": "^[A-Za-z0-9_]{1,64}$"]
    static let ruleFields: [String: JSONValue] = [
        "name": requiredText(200), "event_types": eventTypes,
        "channel": ["type": "string", "enum": ["email", "in_app", "webhook"]],
        "template": templateKey, "locale": ["type": "string", "enum": ["pt-BR", "en"]],
        "changed": ["type": "array", "maxItems": 20, "items": fieldName], "enabled": boolean,
        "recipients": [
            "type": "array", "minItems": 1, "maxItems": 20,
            "items": [
                "oneOf": [
                    object(
                        ["type": ["const": "address"], "address": email], required: ["type", "address"], closed: true),
                    object(["type": ["const": "subject_email"], "field": fieldName], required: ["type"], closed: true),
                    object(["type": ["const": "contractor_contact"]], required: ["type"], closed: true),
                    object(["type": ["const": "role"], "role": fieldName], required: ["type", "role"], closed: true),
                    object(["type": ["const": "user"], "user_id": uuid], required: ["type", "user_id"], closed: true),
                    object(
                        ["type": ["const": "webhook"], "webhook_id": uuid], required: ["type", "webhook_id"],
                        closed: true),
                ]
            ],
        ],
    ]
    static let password: JSONValue = ["type": "string", "minLength": 12, "maxLength": 72]
    /// Absent, null or empty: one is generated and shown once.
    static let optionalPassword: JSONValue = ["anyOf": [["type": "null"], ["const": ""], password]]
    static let dateOrEmpty: JSONValue = [
        "anyOf": [["type": "null"], ["const": ""], ["type": "string", "format": "date"]]
    ]
    static func ref(_ schema: String) -> JSONValue { ["$ref": .string("#/components/schemas/\(schema)")] }

    /// A CNPJ (12 letters or digits, then 2 digits) or a CPF (11 digits), with any of `.`, `/`, `-` and spaces
    /// between; its check digits are checked by the service (422 when wrong).
    static let document: JSONValue = [
        "type": "string",
        "pattern":
            #"^([./ -]*([0-9A-Za-z][./ -]*){12}[0-9][./ -]*[0-9][./ -]*|[./ -]*([0-9][./ -]*){11})$"#,
    ]
    static let phonePattern = #"^(\+?[ ().-]*([0-9][ ().-]*){10,15})?$"#
    static let contractorFields: [String: JSONValue] = [
        "legal_name": requiredText(200), "trade_name": text(200, nullable: true), "document": document,
        "contact_email": email, "contact_phone": ["type": ["string", "null"], "pattern": .string(phonePattern)],
        "address": ["anyOf": [["type": "null"], ref("AddressInput")]],
    ]

    static let schemas: [String: JSONValue] = [
        "Problem": object(
            [
                "type": string, "title": string, "status": integer, "detail": string, "instance": string,
                "field": string,
            ], required: ["type", "title", "status"]),
        "OAuthError": object(["error": string, "error_description": string], required: ["error"]),
        "Status": object(["status": string]),
        "Object": anyObject,
        "JWKSet": object(["keys": ["type": "array", "items": anyObject]], required: ["keys"]),
        "TokenRequest": object(
            [
                "grant_type": [
                    "type": "string",
                    "enum": ["client_credentials", "password", "authorization_code", "refresh_token"],
                ],
                "client_id": string, "client_secret": string, "username": string, "password": string,
                "refresh_token": string, "scope": string, "code": string, "redirect_uri": string,
                "code_verifier": string,
            ], required: ["grant_type"]),
        "SignInForm": object(
            Dictionary(
                uniqueKeysWithValues: (authorizationParameters + ["email", "password", "csrf_token"]).map {
                    ($0, string)
                })),
        "LogoutForm": object(
            Dictionary(uniqueKeysWithValues: (logoutParameters + ["csrf_token"]).map { ($0, string) })),
        "Page": ["type": "string", "description": "An HTML page"],
        "TokenInput": object(
            ["token": string, "token_type_hint": string, "client_id": string, "client_secret": string],
            required: ["token"]),
        "TokenResponse": object(
            [
                "access_token": string, "token_type": string, "expires_in": integer, "refresh_token": string,
                "scope": string, "id_token": string,
            ], required: ["access_token", "token_type", "expires_in"]),
        "Introspection": object(["active": boolean], required: ["active"]),
        "UserInfo": object(["sub": string, "email": string, "name": string, "tenant_id": string, "roles": strings]),
        "TeamInput": object(teamFields, required: ["name"], closed: true),
        "TeamPatch": object(teamFields.merging(["name": requiredText(200)]) { $1 }, closed: true),
        "Team": object(
            [
                "public_id": string, "tenant_id": string, "name": string, "description": string,
                "cost_center_id": nullableString, "enabled": boolean, "version": integer, "created_at": timestamp,
                "updated_at": timestamp,
            ], required: ["public_id", "tenant_id", "name", "enabled", "version"]),
        "AccountInput": object(accountFields, required: ["name", "document_registry", "email"], closed: true),
        "AccountPatch": object(accountFields, closed: true),
        "Account": object(
            [
                "public_id": string, "tenant_id": string, "name": string, "document_registry": string,
                "email": string, "team_ids": strings, "enabled": boolean, "version": integer,
                "created_at": timestamp, "updated_at": timestamp,
            ], required: ["public_id", "tenant_id", "name", "enabled", "version"]),
        "ContractorInput": object(
            contractorFields.merging([
                "contract": ref("ContractInput"),
                "admin": ["anyOf": [["type": "null"], ref("AdminInput")]],
            ]) { $1 }, required: ["legal_name", "document", "contact_email", "contract"], closed: true),
        "ContractorPatch": object(
            contractorFields.merging(["contract": ["anyOf": [["type": "null"], ref("ContractPatch")]]]) { $1 },
            closed: true),
        "AddressInput": object(
            Dictionary(
                uniqueKeysWithValues: ["street", "number", "complement", "district", "city", "state", "postal_code"]
                    .map { ($0, text(200, nullable: true)) }
            ).merging(["country": ["type": ["string", "null"], "pattern": "^([A-Za-z]{2})?$"]]) { $1 },
            closed: true),
        "ContractInput": object(
            [
                "plan": requiredText(100), "starts_on": dateOrEmpty, "ends_on": dateOrEmpty,
                "status": ["enum": ["active", "suspended", "terminated", "", .null]],
            ], required: ["plan"], closed: true),
        "ContractPatch": object(
            [
                "plan": requiredText(100), "starts_on": ["type": "string", "format": "date"], "ends_on": dateOrEmpty,
                "status": ["type": "string", "enum": ["active", "suspended", "terminated"]],
            ], closed: true),
        "AdminInput": object(
            [
                "email": email, "name": ["anyOf": [["type": "null"], ["const": ""], requiredText(200)]],
                "password": optionalPassword,
            ], required: ["email"], closed: true),
        "Contractor": object(
            [
                "public_id": string, "tenant_id": string, "legal_name": string, "trade_name": string,
                "document_type": string, "document": string, "contact_email": string, "contact_phone": nullableString,
                "address": anyObject, "contract": anyObject, "admin": anyObject, "enabled": boolean,
                "version": integer, "created_at": timestamp, "updated_at": timestamp,
            ], required: ["public_id", "tenant_id", "legal_name", "document", "enabled", "version"]),
        "UserInput": object(
            [
                "email": email, "name": requiredText(200), "password": optionalPassword, "roles": roles,
                "tenant_id": tenant,
            ], required: ["email", "name", "roles"], closed: true),
        "UserPatch": object(["name": requiredText(200), "roles": roles], closed: true),
        "PasswordInput": object(["password": optionalPassword], closed: true),
        "User": object(
            [
                "public_id": string, "tenant_id": string, "email": string, "name": string, "roles": strings,
                "enabled": boolean, "version": integer, "created_at": timestamp, "updated_at": timestamp,
                "generated_password": string,
            ], required: ["public_id", "tenant_id", "email", "name", "roles", "enabled", "version"]),
        "ClientInput": object(
            [
                "name": requiredText(200), "roles": roles,
                "grant_types": [
                    "type": "array",
                    "items": [
                        "type": "string",
                        "enum": ["client_credentials", "password", "authorization_code", "refresh_token"],
                    ],
                ],
                "first_party": ["type": ["boolean", "null"]], "tenant_id": tenant,
                "token_endpoint_auth_method": [
                    "type": "string", "enum": ["client_secret_basic", "client_secret_post", "none"],
                ],
                "redirect_uris": [
                    "type": "array", "maxItems": 10,
                    "items": ["type": "string", "format": "uri", "maxLength": 2_000],
                ],
            ], required: ["name"], closed: true),
        "Client": object(
            [
                "public_id": string, "client_id": string, "client_secret": string, "name": string,
                "tenant_id": string, "roles": strings, "grant_types": strings, "redirect_uris": strings,
                "first_party": boolean, "token_endpoint_auth_method": string, "enabled": boolean,
                "created_at": timestamp,
            ], required: ["public_id", "client_id", "name", "tenant_id", "enabled"]),
        "CostCenterInput": object(costCenterFields, required: ["code", "name"], closed: true),
        "CostCenterPatch": object(costCenterFields, closed: true),
        "CostCenter": object(
            [
                "public_id": string, "tenant_id": string, "code": string, "name": string,
                "parent_id": nullableString, "budget": anyObject, "enabled": boolean,
                "status": ["type": "string", "enum": ["active", "disabled"]], "version": integer,
                "created_at": timestamp, "updated_at": timestamp,
            ], required: ["public_id", "tenant_id", "code", "name", "status", "version"]),
        "CostCenterTree": object(
            [
                "public_id": string, "code": string, "name": string,
                "children": ["type": "array", "items": ["$ref": "#/components/schemas/CostCenterTree"]],
            ], required: ["public_id", "children"]),
        "WebhookInput": object(webhookFields, required: ["url", "event_types"], closed: true),
        "WebhookPatch": object(webhookFields, closed: true),
        "Webhook": object(
            [
                "public_id": string, "tenant_id": string, "url": string, "event_types": strings,
                "enabled": boolean, "status": ["type": "string", "enum": ["active", "disabled"]],
                "disabled_reason": nullableString, "version": integer, "created_at": timestamp,
                "updated_at": timestamp, "secret": ["type": "string", "pattern": "^whsec_"],
            ], required: ["public_id", "tenant_id", "url", "event_types", "enabled", "status", "version"]),
        "Delivery": object(
            [
                "public_id": string, "tenant_id": string, "channel": string, "webhook_id": nullableString,
                "rule_id": nullableString, "recipient": nullableString, "event_id": string, "event_type": string,
                "status": ["type": "string", "enum": ["pending", "sent", "failed"]], "attempt_count": integer,
                "next_attempt_at": ["type": ["string", "null"], "format": "date-time"],
                "last_error": nullableString, "created_at": timestamp, "updated_at": timestamp,
                "attempts": [
                    "type": "array",
                    "items": object(
                        [
                            "number": integer, "started_at": timestamp, "duration_ms": integer,
                            "response_code": ["type": ["integer", "null"]],
                            "outcome": ["type": "string", "enum": ["sent", "retry", "failed"]],
                            "error": nullableString,
                        ], required: ["number", "started_at", "outcome"]),
                ],
            ], required: ["public_id", "tenant_id", "channel", "event_id", "event_type", "status", "attempt_count"]),
        "NotificationTemplateInput": object(
            ["key": templateKey, "locales": templateLocales(nullable: false)], required: ["key", "locales"],
            closed: true),
        "NotificationTemplatePatch": object(["locales": templateLocales(nullable: true)], closed: true),
        "NotificationTemplate": object(
            [
                "public_id": string, "tenant_id": string, "key": string,
                "locales": ["type": "object", "additionalProperties": templateContent],
                "version": integer, "created_at": timestamp, "updated_at": timestamp,
            ], required: ["public_id", "tenant_id", "key", "locales", "version"]),
        "NotificationRuleInput": object(ruleFields, required: ["event_types", "recipients"], closed: true),
        "NotificationRulePatch": object(ruleFields, closed: true),
        "NotificationRule": object(
            [
                "public_id": string, "tenant_id": string, "name": string, "event_types": strings,
                "channel": string, "template": nullableString, "recipients": ["type": "array", "items": anyObject],
                "locale": string, "changed": strings, "enabled": boolean, "version": integer,
                "created_at": timestamp, "updated_at": timestamp,
            ],
            required: [
                "public_id", "tenant_id", "name", "event_types", "channel", "template", "recipients", "locale",
                "enabled", "version",
            ]),
        "InAppNotification": object(
            [
                "public_id": string, "tenant_id": string, "user_id": string, "rule_id": string, "event_id": string,
                "event_type": string, "title": string, "body": string, "read": boolean,
                "read_at": ["type": ["string", "null"], "format": "date-time"], "created_at": timestamp,
            ], required: ["public_id", "title", "body", "read", "created_at"]),
        "InAppNotificationPage": object(
            [
                "items": ["type": "array", "items": ["$ref": "#/components/schemas/InAppNotification"]],
                "next_page_token": nullableString, "unread_count": integer,
            ], required: ["items", "next_page_token", "unread_count"]),
        "MarkedCount": object(["marked": integer], required: ["marked"]),
        "UnreadCount": object(["unread_count": integer], required: ["unread_count"]),
        "FlagList": object(
            [
                "items": [
                    "type": "array",
                    "items": object(
                        [
                            "key": string, "value": [:], "variant": nullableString,
                            "reason": [
                                "type": "string",
                                "enum": ["STATIC", "TARGETING_MATCH", "DEFAULT", "DISABLED", "ERROR"],
                            ],
                            "error_code": ["type": "string", "enum": ["FLAG_NOT_FOUND", "TYPE_MISMATCH", "GENERAL"]],
                            "metadata": anyObject,
                        ], required: ["key", "value", "variant", "reason", "metadata"]),
                ]
            ], required: ["items"]),
        "NotificationTemplatePage": page("NotificationTemplate"), "NotificationRulePage": page("NotificationRule"),
        "WebhookPage": page("Webhook"), "DeliveryPage": page("Delivery"),
        "TeamPage": page("Team"), "AccountPage": page("Account"), "ContractorPage": page("Contractor"),
        "UserPage": page("User"), "ClientPage": page("Client"), "CostCenterPage": page("CostCenter"),
        "EventPage": object(
            ["items": ["type": "array", "items": anyObject], "next_page_token": nullableString],
            required: ["items", "next_page_token"]),
        "VersionList": object(["items": ["type": "array", "items": anyObject]], required: ["items"]),
        "Ownership": object(
            [
                "ownership_id": string, "subject_entity_type": string, "subject_entity_id": string,
                "first_seen_at": timestamp, "last_seen_at": timestamp, "event_count": integer,
                "producer_services": strings,
            ], required: ["ownership_id", "event_count"]),
    ]

    // MARK: The document

    static func content(_ schema: String, type: String = "application/json") -> JSONValue {
        [.init(stringLiteral: type): ["schema": ["$ref": .string("#/components/schemas/\(schema)")]]]
    }

    /// Every status an operation may answer: its own, those of any `/v1` route (bad input, credentials, roles, an
    /// unknown id, a business rule, a service down), a body's (too large, not JSON), and POST's Idempotency-Key.
    static func responses(_ operation: Operation) -> [String: JSONValue] {
        var responses: [String: JSONValue] = [:]
        var success: [String: JSONValue] = ["description": "Success"]
        if let schema = operation.success.schema {
            success["content"] = content(schema, type: operation.successType)
        }
        if operation.versioned {
            success["headers"] = ["ETag": ["description": "The version, for If-Match", "schema": string]]
        }
        if operation.success.status == "201", !operation.links.isEmpty {
            success["links"] = .object(
                Dictionary(
                    uniqueKeysWithValues: operation.links.map {
                        ($0, ["operationId": .string($0), "parameters": ["id": "$response.body#/public_id"]])
                    }))
        }
        responses[operation.success.status] = .object(success)
        for status in operation.redirects {
            responses[status] = ["description": "Redirect", "headers": ["Location": ["schema": string]]]
        }
        for status in operation.pageErrors {
            responses[status] = ["description": "Refused (a page)", "content": content("Page", type: "text/html")]
        }
        var errors = Set(operation.errors)
        let isV1 = operation.path.hasPrefix("/v1/")
        if isV1 { errors.formUnion(["400", "401", "403", "404", "422", "503"]) }
        if operation.secured, !isV1 { errors.formUnion(["401"]) }
        if isV1, operation.body != nil { errors.formUnion(["413", "415"]) }
        // POST's Idempotency-Key: a request with the same key still running is 409 (retry it).
        if isV1, operation.method == "post" { errors.formUnion(["409"]) }
        let oauth =
            operation.path.hasPrefix("/oauth2/") && operation.path != "/oauth2/userinfo" && operation.pageErrors.isEmpty
        for status in errors {
            let body =
                oauth
                ? content("OAuthError")
                : operation.path.hasPrefix("/health/")
                    ? content("Status")
                    : content("Problem", type: "application/problem+json")
            responses[status] = ["description": "Error", "content": body]
        }
        return responses
    }

    static func parameters(_ operation: Operation) -> [JSONValue] {
        var parameters: [JSONValue] = operation.path.split(separator: "/").filter { $0.hasPrefix("{") }.map { part in
            ["name": .string(String(part.dropFirst().dropLast())), "in": "path", "required": true, "schema": string]
        }
        parameters += operation.query.map { ["name": .string($0.0), "in": "query", "schema": $0.1] }
        if operation.method == "post", operation.path.hasPrefix("/v1/") {
            parameters.append([
                "name": "Idempotency-Key", "in": "header", "schema": ["type": "string", "pattern": "^[!-~]{1,255}$"],
                "description": "Retries with the same key get the first answer; another request with it gets 422.",
            ])
        }
        if operation.method == "patch" {
            parameters.append([
                "name": "If-Match", "in": "header",
                "schema": ["type": "string", "pattern": #"^((W/)?"[0-9]{1,18}")?$"#],
                "description": "The ETag last read: a newer version is 412.",
            ])
        }
        return parameters
    }

    static let json: String = {
        var paths: [String: [String: JSONValue]] = [:]
        for operation in operations {
            var entry: [String: JSONValue] = [
                "operationId": .string(operation.id), "summary": .string(operation.summary),
                "responses": .object(responses(operation)),
            ]
            let parameters = parameters(operation)
            if !parameters.isEmpty { entry["parameters"] = .array(parameters) }
            if let body = operation.body {
                let types =
                    operation.path.hasPrefix("/oauth2/")
                    ? ["application/x-www-form-urlencoded"]
                    : operation.method == "patch"
                        ? ["application/json", "application/merge-patch+json"]
                        : ["application/json"]
                var bodyContent: [String: JSONValue] = [:]
                for type in types { bodyContent[type] = ["schema": ["$ref": .string("#/components/schemas/\(body)")]] }
                entry["requestBody"] = ["required": .bool(operation.bodyRequired), "content": .object(bodyContent)]
            }
            entry["security"] = operation.secured ? [["bearer": []]] : []
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

    /// The methods the document declares on `path` (a concrete request path), or nil when no path template matches.
    static func methods(forPath path: String) -> [String]? {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        let matching = (templates[segments.count] ?? []).filter { $0.matches(segments) }
        guard !matching.isEmpty else { return nil }
        return Array(Set(matching.flatMap(\.methods))).sorted()
    }

    /// Whether the document declares `method` on `path`: `nil` when no path template matches `path`. Asked of every
    /// request, so the usual answer (`true`) is found without building the list of ``methods(forPath:)``.
    static func declares(_ method: String, onPath path: String) -> Bool? {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        var matched = false
        for template in templates[segments.count] ?? [] where template.matches(segments) {
            if template.methods.contains(method) { return true }
            matched = true
        }
        return matched ? false : nil
    }

    /// A path template: its segments (`nil` for a parameter, which matches any non-empty segment) and its methods.
    struct PathTemplate: Sendable {
        var segments: [Substring?]
        var methods: [String]

        func matches(_ path: [Substring]) -> Bool {
            zip(segments, path).allSatisfy { part, segment in part.map { $0 == segment } ?? !segment.isEmpty }
        }
    }

    /// Each path template, by segment count (what a request path is matched against).
    static let templates: [Int: [PathTemplate]] = Dictionary(
        grouping: Dictionary(grouping: operations, by: \.path).map { path, list in
            PathTemplate(
                segments: path.split(separator: "/", omittingEmptySubsequences: false).map {
                    $0.hasPrefix("{") ? nil : $0
                },
                methods: list.map { $0.method.uppercased() })
        },
        by: \.segments.count)
}
