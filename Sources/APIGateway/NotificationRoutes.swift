import BizEvents
import BizProtos
import GRPCCore
import Hummingbird

/// `/v1/webhooks` (the caller's tenant, admins): create (201, the `secret` shown once), read, list, JSON merge-patch
/// update (`If-Match`), delete (204), disable, enable, `POST …/rotate-secret` (a new secret shown once). `/v1/notification-deliveries`:
/// list (`status`, `webhook_id`, `event_id` filters; newest first), read (with its attempts), `POST …/retry`.
struct NotificationRoutes<Transport: ClientTransport> {
    var clients: ServiceClients<Transport>

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
            let page = try await clients.call(context) { metadata in
                try await deliveries.listDeliveries(
                    .with {
                        $0.pageSize = size
                        $0.pageToken = token
                        $0.status = status
                        $0.webhookID = webhook
                        $0.eventID = event
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
    }

    /// The webhook with its new secret: in this body only, which no cache may keep.
    static func secretShown(_ answer: Bizretail_Notifications_V1_CreatedWebhook, status: HTTPResponse.Status)
        -> Response
    {
        var json = answer.webhook.json
        if case .object(var object) = json {
            object["secret"] = .string(answer.secret)
            json = .object(object)
        }
        var headers: HTTPFields = [.cacheControl: "no-store", .eTag: "\"\(answer.webhook.version)\""]
        if status == .created { headers[.location] = "/v1/webhooks/\(answer.webhook.publicID)" }
        return jsonResponse(json, status: status, headers: headers)
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
            "webhook_id": webhookID.isEmpty ? .null : .string(webhookID), "event_id": .string(eventID),
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
