import BizEvents
import BizFlags
import BizProtos
import GRPCCore
import Hummingbird
import ServiceLifecycle

/// `/v1/webhooks` (the caller's tenant, admins): create (201, the `secret` shown once), read, list, JSON merge-patch
/// update (`If-Match`), delete (204), disable, enable, `POST …/rotate-secret` (a new secret shown once). `/v1/notification-deliveries`:
/// list (`status`, `channel`, `webhook_id`, `rule_id`, `event_id` filters; newest first), read (with its attempts),
/// `POST …/retry`. `/v1/notification-templates` and `/v1/notification-rules` (below).
struct NotificationRoutes<Transport: ClientTransport> {
    var clients: ServiceClients<Transport>
    var flags: FeatureFlags

    func register(on v1: RouterGroup<GatewayContext>) {
        guard let connection = clients.connection(to: "notifications") else { return }
        let webhooks = Bizretail_Notifications_V1_WebhookService.Client(wrapping: connection)
        let deliveries = Bizretail_Notifications_V1_DeliveryService.Client(wrapping: connection)
        let fields: Set<String> = ["url", "event_types", "enabled"]
        v1.post("webhooks") { request, context in
            let body = try await JSONBody.read(request, context: context, allowed: fields)
            var message = Bizretail_Notifications_V1_CreateWebhookRequest()
            message.url = try body.string("url", required: true)!
            guard let types = try body.strings("event_types") else {
                throw Problem.badRequest("event_types is required", field: "event_types")
            }
            message.eventTypes = types
            if let enabled = try body.bool("enabled") { message.enabled = enabled }
            let created = try await clients.call(context) { metadata in
                try await webhooks.createWebhook(message, metadata: metadata)
            }
            return Self.secretShown(created, status: .created)
        }
        v1.get("webhooks") { request, context in
            let (size, token) = try request.page()
            let page = try await clients.call(context) { metadata in
                try await webhooks.listWebhooks(
                    .with {
                        $0.pageSize = size
                        $0.pageToken = token
                    }, metadata: metadata)
            }
            return pageResponse(page.webhooks.map(\.json), next: page.nextPageToken)
        }
        v1.get("webhooks/:id") { _, context in
            let id = try context.parameters.require("id")
            let found = try await clients.call(context) { metadata in
                try await webhooks.getWebhook(.with { $0.publicID = id }, metadata: metadata)
            }
            return resourceResponse(found.json, version: found.version)
        }
        v1.patch("webhooks/:id") { request, context in
            let id = try context.parameters.require("id")
            let body = try await JSONBody.read(request, context: context, allowed: fields)
            var message = Bizretail_Notifications_V1_UpdateWebhookRequest()
            message.publicID = id
            if let url = try body.string("url") { message.url = url }
            if let types = try body.strings("event_types") {
                message.eventTypes = types
                message.setEventTypes = true
            }
            if let enabled = try body.bool("enabled") { message.enabled = enabled }
            if let expected = try request.expectedVersion() { message.expectedVersion = expected }
            let updated = try await clients.call(context) { metadata in
                try await webhooks.updateWebhook(message, metadata: metadata)
            }
            return resourceResponse(updated.json, version: updated.version)
        }
        v1.delete("webhooks/:id") { _, context in
            let id = try context.parameters.require("id")
            _ = try await clients.call(context) { metadata in
                try await webhooks.deleteWebhook(.with { $0.publicID = id }, metadata: metadata)
            }
            return Response(status: .noContent)
        }
        for (action, enabled) in [("disable", false), ("enable", true)] {
            v1.post("webhooks/:id/\(action)") { _, context in
                let id = try context.parameters.require("id")
                let changed = try await clients.call(context) { metadata in
                    try await webhooks.updateWebhook(
                        .with {
                            $0.publicID = id
                            $0.enabled = enabled
                        }, metadata: metadata)
                }
                return resourceResponse(changed.json, version: changed.version)
            }
        }
        v1.post("webhooks/:id/rotate-secret") { _, context in
            let id = try context.parameters.require("id")
            let rotated = try await clients.call(context) { metadata in
                try await webhooks.rotateWebhookSecret(.with { $0.publicID = id }, metadata: metadata)
            }
            return Self.secretShown(rotated, status: .ok)
        }

        v1.get("notification-deliveries") { request, context in
            let (size, token) = try request.page()
            let status = request.query("status") ?? ""
            guard request.query("status") == nil || ["pending", "sent", "failed"].contains(status) else {
                throw Problem.badRequest("status must be pending, sent or failed", field: "status")
            }
            let webhook = request.query("webhook_id") ?? ""
            let event = request.query("event_id") ?? ""
            let channel = request.query("channel") ?? ""
            guard request.query("channel") == nil || ["webhook", "email"].contains(channel) else {
                throw Problem.badRequest("channel must be webhook or email", field: "channel")
            }
            let rule = request.query("rule_id") ?? ""
            let page = try await clients.call(context) { metadata in
                try await deliveries.listDeliveries(
                    .with {
                        $0.pageSize = size
                        $0.pageToken = token
                        $0.status = status
                        $0.webhookID = webhook
                        $0.eventID = event
                        $0.channel = channel
                        $0.ruleID = rule
                    }, metadata: metadata)
            }
            return pageResponse(page.deliveries.map(\.json), next: page.nextPageToken)
        }
        v1.get("notification-deliveries/:id") { _, context in
            let id = try context.parameters.require("id")
            let found = try await clients.call(context) { metadata in
                try await deliveries.getDelivery(.with { $0.publicID = id }, metadata: metadata)
            }
            return jsonResponse(found.json)
        }
        v1.post("notification-deliveries/:id/retry") { _, context in
            let id = try context.parameters.require("id")
            let retried = try await clients.call(context) { metadata in
                try await deliveries.retryDelivery(.with { $0.publicID = id }, metadata: metadata)
            }
            return jsonResponse(retried.json)
        }
        registerTemplates(on: v1, connection: connection)
        registerRules(on: v1, connection: connection)
        registerInbox(on: v1, connection: connection)
    }

    /// `/v1/notifications` (any signed-in user, their own): list (newest first; `unread=true`; with
    /// `unread_count`), `POST …/{id}/read`, `POST …/read-all`, and `GET …/stream`: Server-Sent Events, one
    /// `notification` event per new one as it is made, and a comment every 15 s to keep the connection.
    func registerInbox(on v1: RouterGroup<GatewayContext>, connection: GRPCClient<Transport>) {
        let inbox = Bizretail_Notifications_V1_InboxService.Client(wrapping: connection)
        v1.get("notifications") { request, context in
            let (size, token) = try request.page()
            let unread = request.query("unread")
            guard unread == nil || unread == "true" || unread == "false" else {
                throw Problem.badRequest("unread must be true or false", field: "unread")
            }
            let page = try await clients.call(context) { metadata in
                try await inbox.listNotifications(
                    .with {
                        $0.pageSize = size
                        $0.pageToken = token
                        $0.unreadOnly = unread == "true"
                    }, metadata: metadata)
            }
            return jsonResponse(
                [
                    "items": .array(page.notifications.map(\.json)),
                    "next_page_token": page.nextPageToken.isEmpty ? .null : .string(page.nextPageToken),
                    "unread_count": .integer(page.unreadCount),
                ])
        }
        // Rolled out by the flag `unread-count-route` (by tenant): where it is off, the route does not exist.
        v1.get("notifications/unread-count") { _, context in
            guard
                flags.boolean(
                    GatewayFlags.unreadCountRoute, default: false, context: EvaluationContext(caller: context.principal)
                )
            else { throw Problem.notFound() }
            let page = try await clients.call(context) { metadata in
                try await inbox.listNotifications(.with { $0.pageSize = 1 }, metadata: metadata)
            }
            return jsonResponse(["unread_count": .integer(page.unreadCount)])
        }
        v1.post("notifications/read-all") { _, context in
            let marked = try await clients.call(context) { metadata in
                try await inbox.markAllNotificationsRead(.init(), metadata: metadata)
            }
            return jsonResponse(["marked": .integer(marked.marked)])
        }
        v1.post("notifications/:id/read") { _, context in
            let id = try context.parameters.require("id")
            let read = try await clients.call(context) { metadata in
                try await inbox.markNotificationRead(.with { $0.publicID = id }, metadata: metadata)
            }
            return jsonResponse(read.json)
        }
        v1.get("notifications/stream") { _, context in
            // The caller is checked before the stream opens, so a bad token is a 401, not a stream that ends.
            _ = try await clients.call(context) { metadata in
                try await inbox.listNotifications(.with { $0.pageSize = 1 }, metadata: metadata)
            }
            let metadata = try await clients.metadata(for: context)
            let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-store"]
            return Response(
                status: .ok, headers: headers,
                body: ResponseBody { writer in
                    let (chunks, sink) = AsyncStream<ByteBuffer>.makeStream(bufferingPolicy: .bufferingNewest(1000))
                    // The gateway's shutdown ends the stream (it waits for every request to end).
                    let shutdown = Task {
                        try? await gracefulShutdown()
                        sink.finish()
                    }
                    defer { shutdown.cancel() }
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask {
                            defer { sink.finish() }
                            try await inbox.watchNotifications(.init(), metadata: metadata) { response in
                                for try await message in response.messages {
                                    sink.yield(ByteBuffer(string: Self.serverSentEvent(message)))
                                }
                            }
                        }
                        group.addTask {
                            while true {
                                try await Task.sleep(for: .seconds(15))
                                sink.yield(ByteBuffer(string: ": keep-alive\n\n"))
                            }
                        }
                        sink.yield(ByteBuffer(string: ": connected\n\n"))
                        // Ends when the watch does, or when a write fails (the client went away).
                        for await chunk in chunks { try await writer.write(chunk) }
                        group.cancelAll()
                    }
                    try await writer.finish(nil)
                })
        }
    }

    /// One notification as an SSE event: `id`, `event: notification`, and its JSON on one `data` line.
    static func serverSentEvent(_ notification: Bizretail_Notifications_V1_InAppNotification) -> String {
        let data = String(decoding: notification.json.canonicalBytes(), as: UTF8.self)
        return "id: \(notification.publicID)\nevent: notification\ndata: \(data)\n\n"
    }

    static var contentFields: Set<String> { ["subject", "text", "html"] }

    /// `locales` of a request: each locale's content, or nil (`null`: remove it, in a PATCH).
    static func locales(_ body: JSONBody) throws -> [String: Bizretail_Notifications_V1_TemplateContent?]? {
        try body.map("locales", allowed: contentFields)?.mapValues { content in
            try content.map { content in
                var message = Bizretail_Notifications_V1_TemplateContent()
                message.subject = try content.string("subject", required: true)!
                message.text = try content.string("text", required: true)!
                if let html = try content.string("html", nullable: true), !html.isEmpty { message.html = html }
                return message
            }
        }
    }

    /// `/v1/notification-templates` (by key): create (201), read, list, merge-patch (`locales`: a locale's content
    /// replaced, `null` removes it; `If-Match`), delete (204; 409 while a rule uses it).
    func registerTemplates(on v1: RouterGroup<GatewayContext>, connection: GRPCClient<Transport>) {
        let templates = Bizretail_Notifications_V1_NotificationTemplateService.Client(wrapping: connection)
        v1.post("notification-templates") { request, context in
            let body = try await JSONBody.read(request, context: context, allowed: ["key", "locales"])
            var message = Bizretail_Notifications_V1_CreateTemplateRequest()
            message.key = try body.string("key", required: true)!
            guard let locales = try Self.locales(body) else {
                throw Problem.badRequest("locales is required", field: "locales")
            }
            for (locale, content) in locales {
                guard let content else {
                    throw Problem.badRequest("locales.\(locale) may not be null", field: "locales.\(locale)")
                }
                message.locales[locale] = content
            }
            let created = try await clients.call(context) { metadata in
                try await templates.createTemplate(message, metadata: metadata)
            }
            var response = resourceResponse(created.json, version: created.version, status: .created)
            response.headers[.location] = "/v1/notification-templates/\(created.key)"
            return response
        }
        v1.get("notification-templates") { request, context in
            let (size, token) = try request.page()
            let page = try await clients.call(context) { metadata in
                try await templates.listTemplates(
                    .with {
                        $0.pageSize = size
                        $0.pageToken = token
                    }, metadata: metadata)
            }
            return pageResponse(page.templates.map(\.json), next: page.nextPageToken)
        }
        v1.get("notification-templates/:key") { _, context in
            let key = try context.parameters.require("key")
            let found = try await clients.call(context) { metadata in
                try await templates.getTemplate(.with { $0.key = key }, metadata: metadata)
            }
            return resourceResponse(found.json, version: found.version)
        }
        v1.patch("notification-templates/:key") { request, context in
            let key = try context.parameters.require("key")
            let body = try await JSONBody.read(request, context: context, allowed: ["locales"])
            var message = Bizretail_Notifications_V1_UpdateTemplateRequest()
            message.key = key
            for (locale, content) in try Self.locales(body) ?? [:] {
                if let content { message.setLocales[locale] = content } else { message.removeLocales.append(locale) }
            }
            if let expected = try request.expectedVersion() { message.expectedVersion = expected }
            let updated = try await clients.call(context) { metadata in
                try await templates.updateTemplate(message, metadata: metadata)
            }
            return resourceResponse(updated.json, version: updated.version)
        }
        v1.delete("notification-templates/:key") { _, context in
            let key = try context.parameters.require("key")
            _ = try await clients.call(context) { metadata in
                try await templates.deleteTemplate(.with { $0.key = key }, metadata: metadata)
            }
            return Response(status: .noContent)
        }
    }

    static var ruleFields: Set<String> {
        ["name", "event_types", "channel", "template", "recipients", "locale", "changed", "enabled"]
    }

    /// The fields each kind of recipient has.
    static var recipientFields: [String: Set<String>] {
        [
            "address": ["type", "address"], "subject_email": ["type", "field"], "contractor_contact": ["type"],
            "role": ["type", "role"], "user": ["type", "user_id"], "webhook": ["type", "webhook_id"],
        ]
    }

    static func recipients(_ body: JSONBody) throws -> [Bizretail_Notifications_V1_Recipient]? {
        try body.objects("recipients", allowed: ["type", "address", "field", "role", "user_id", "webhook_id"])?.map {
            recipient in
            var message = Bizretail_Notifications_V1_Recipient()
            message.type = try recipient.string("type", required: true)!
            guard let fields = recipientFields[message.type] else {
                throw Problem.badRequest(
                    "\(recipient.prefix)type must be one of address, subject_email, contractor_contact, role, user, webhook",
                    field: recipient.prefix + "type")
            }
            if let extra = recipient.object.keys.sorted().first(where: { !fields.contains($0) }) {
                throw Problem.badRequest(
                    "\(recipient.prefix)\(extra) is not a field of a \(message.type) recipient",
                    field: recipient.prefix + extra)
            }
            message.address = try recipient.string("address") ?? ""
            message.field = try recipient.string("field") ?? ""
            message.role = try recipient.string("role") ?? ""
            message.userID = try recipient.string("user_id") ?? ""
            message.webhookID = try recipient.string("webhook_id") ?? ""
            return message
        }
    }

    /// `/v1/notification-rules`: create (201), read, list, merge-patch (`If-Match`), delete (204), disable, enable.
    func registerRules(on v1: RouterGroup<GatewayContext>, connection: GRPCClient<Transport>) {
        let rules = Bizretail_Notifications_V1_NotificationRuleService.Client(wrapping: connection)
        v1.post("notification-rules") { request, context in
            let body = try await JSONBody.read(request, context: context, allowed: Self.ruleFields)
            var message = Bizretail_Notifications_V1_CreateRuleRequest()
            if let name = try body.string("name") { message.name = name }
            guard let types = try body.strings("event_types") else {
                throw Problem.badRequest("event_types is required", field: "event_types")
            }
            message.eventTypes = types
            if let channel = try body.string("channel") { message.channel = channel }
            if let template = try body.string("template") { message.template = template }
            guard let recipients = try Self.recipients(body) else {
                throw Problem.badRequest("recipients is required", field: "recipients")
            }
            message.recipients = recipients
            if let locale = try body.string("locale") { message.locale = locale }
            message.changed = try body.strings("changed") ?? []
            if let enabled = try body.bool("enabled") { message.enabled = enabled }
            let created = try await clients.call(context) { metadata in
                try await rules.createRule(message, metadata: metadata)
            }
            var response = resourceResponse(created.json, version: created.version, status: .created)
            response.headers[.location] = "/v1/notification-rules/\(created.publicID)"
            return response
        }
        v1.get("notification-rules") { request, context in
            let (size, token) = try request.page()
            let page = try await clients.call(context) { metadata in
                try await rules.listRules(
                    .with {
                        $0.pageSize = size
                        $0.pageToken = token
                    }, metadata: metadata)
            }
            return pageResponse(page.rules.map(\.json), next: page.nextPageToken)
        }
        v1.get("notification-rules/:id") { _, context in
            let id = try context.parameters.require("id")
            let found = try await clients.call(context) { metadata in
                try await rules.getRule(.with { $0.publicID = id }, metadata: metadata)
            }
            return resourceResponse(found.json, version: found.version)
        }
        v1.patch("notification-rules/:id") { request, context in
            let id = try context.parameters.require("id")
            let body = try await JSONBody.read(request, context: context, allowed: Self.ruleFields)
            var message = Bizretail_Notifications_V1_UpdateRuleRequest()
            message.publicID = id
            if let name = try body.string("name") { message.name = name }
            if let types = try body.strings("event_types") {
                message.eventTypes = types
                message.setEventTypes = true
            }
            if let channel = try body.string("channel") { message.channel = channel }
            if let template = try body.string("template") { message.template = template }
            if let recipients = try Self.recipients(body) {
                message.recipients = recipients
                message.setRecipients = true
            }
            if let locale = try body.string("locale") { message.locale = locale }
            if let changed = try body.strings("changed") {
                message.changed = changed
                message.setChanged = true
            }
            if let enabled = try body.bool("enabled") { message.enabled = enabled }
            if let expected = try request.expectedVersion() { message.expectedVersion = expected }
            let updated = try await clients.call(context) { metadata in
                try await rules.updateRule(message, metadata: metadata)
            }
            return resourceResponse(updated.json, version: updated.version)
        }
        v1.delete("notification-rules/:id") { _, context in
            let id = try context.parameters.require("id")
            _ = try await clients.call(context) { metadata in
                try await rules.deleteRule(.with { $0.publicID = id }, metadata: metadata)
            }
            return Response(status: .noContent)
        }
        for (action, enabled) in [("disable", false), ("enable", true)] {
            v1.post("notification-rules/:id/\(action)") { _, context in
                let id = try context.parameters.require("id")
                let changed = try await clients.call(context) { metadata in
                    try await rules.updateRule(
                        .with {
                            $0.publicID = id
                            $0.enabled = enabled
                        }, metadata: metadata)
                }
                return resourceResponse(changed.json, version: changed.version)
            }
        }
    }

    /// The webhook with its new secret: in this body only, which no cache may keep.
    static func secretShown(_ answer: Bizretail_Notifications_V1_CreatedWebhook, status: HTTPResponse.Status)
        -> Response
    {
        secretShownResponse(
            answer.webhook.json, secret: ("secret", answer.secret), status: status,
            location: "/v1/webhooks/\(answer.webhook.publicID)", version: answer.webhook.version)
    }
}

extension Bizretail_Notifications_V1_Webhook {
    var json: JSONValue {
        [
            "public_id": .string(publicID), "tenant_id": .string(tenantID), "url": .string(url),
            "event_types": .array(eventTypes.map(JSONValue.string)), "enabled": .bool(enabled),
            "status": .string(enabled ? "active" : "disabled"),
            "disabled_reason": disabledReason.isEmpty ? .null : .string(disabledReason),
            "version": .integer(version), "created_at": .string(createdAt.rfc3339),
            "updated_at": .string(updatedAt.rfc3339),
        ]
    }
}

extension Bizretail_Notifications_V1_Delivery {
    var json: JSONValue {
        var object: [String: JSONValue] = [
            "public_id": .string(publicID), "tenant_id": .string(tenantID), "channel": .string(channel),
            "webhook_id": webhookID.isEmpty ? .null : .string(webhookID),
            "rule_id": ruleID.isEmpty ? .null : .string(ruleID),
            "recipient": recipient.isEmpty ? .null : .string(recipient), "event_id": .string(eventID),
            "event_type": .string(eventType), "status": .string(status),
            "attempt_count": .integer(Int64(attemptCount)),
            "next_attempt_at": hasNextAttemptAt ? .string(nextAttemptAt.rfc3339) : .null,
            "last_error": lastError.isEmpty ? .null : .string(lastError), "created_at": .string(createdAt.rfc3339),
            "updated_at": .string(updatedAt.rfc3339),
        ]
        object["attempts"] = .array(
            attempts.map { attempt in
                [
                    "number": .integer(Int64(attempt.number)), "started_at": .string(attempt.startedAt.rfc3339),
                    "duration_ms": .integer(attempt.durationMs),
                    "response_code": attempt.responseCode == 0 ? .null : .integer(Int64(attempt.responseCode)),
                    "outcome": .string(attempt.outcome),
                    "error": attempt.error.isEmpty ? .null : .string(attempt.error),
                ]
            })
        return .object(object)
    }
}

extension Bizretail_Notifications_V1_Template {
    var json: JSONValue {
        [
            "public_id": .string(publicID), "tenant_id": .string(tenantID), "key": .string(key),
            "locales": .object(
                locales.mapValues { content in
                    [
                        "subject": .string(content.subject), "text": .string(content.text),
                        "html": content.hasHtml ? .string(content.html) : .null,
                    ]
                }),
            "version": .integer(version), "created_at": .string(createdAt.rfc3339),
            "updated_at": .string(updatedAt.rfc3339),
        ]
    }
}

extension Bizretail_Notifications_V1_Rule {
    var json: JSONValue {
        [
            "public_id": .string(publicID), "tenant_id": .string(tenantID), "name": .string(name),
            "event_types": .array(eventTypes.map(JSONValue.string)), "channel": .string(channel),
            "template": template.isEmpty ? .null : .string(template),
            "recipients": .array(
                recipients.map { recipient in
                    var object: [String: JSONValue] = ["type": .string(recipient.type)]
                    if !recipient.address.isEmpty { object["address"] = .string(recipient.address) }
                    if !recipient.field.isEmpty { object["field"] = .string(recipient.field) }
                    if !recipient.role.isEmpty { object["role"] = .string(recipient.role) }
                    if !recipient.userID.isEmpty { object["user_id"] = .string(recipient.userID) }
                    if !recipient.webhookID.isEmpty { object["webhook_id"] = .string(recipient.webhookID) }
                    return .object(object)
                }),
            "locale": .string(locale), "changed": .array(changed.map(JSONValue.string)), "enabled": .bool(enabled),
            "version": .integer(version), "created_at": .string(createdAt.rfc3339),
            "updated_at": .string(updatedAt.rfc3339),
        ]
    }
}

extension Bizretail_Notifications_V1_InAppNotification {
    var json: JSONValue {
        [
            "public_id": .string(publicID), "tenant_id": .string(tenantID), "user_id": .string(userID),
            "rule_id": .string(ruleID), "event_id": .string(eventID), "event_type": .string(eventType),
            "title": .string(title), "body": .string(body), "read": .bool(hasReadAt),
            "read_at": hasReadAt ? .string(readAt.rfc3339) : .null, "created_at": .string(createdAt.rfc3339),
        ]
    }
}
