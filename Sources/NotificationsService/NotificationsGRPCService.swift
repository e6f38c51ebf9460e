import BizAuth
import BizEvents
import BizProtos
import BizServiceKit
import GRPCCore

/// `bizretail.notifications.v1.WebhookService`: a tenant's webhook subscriptions (admins, within the token's
/// tenant).
public struct WebhookGRPCService: Bizretail_Notifications_V1_WebhookService.SimpleServiceProtocol {
    var directory: WebhookDirectory
    var pageTokens: PageTokens

    public func createWebhook(request: Bizretail_Notifications_V1_CreateWebhookRequest, context: ServerContext)
        async throws -> Bizretail_Notifications_V1_CreatedWebhook
    {
        let caller = try Caller.require()
        let (record, secret) = try await directory.create(
            url: request.url, eventTypes: request.eventTypes, enabled: request.hasEnabled ? request.enabled : true,
            caller: caller)
        return .with {
            $0.webhook = .init(record)
            $0.secret = secret.text
        }
    }

    public func getWebhook(request: Bizretail_Notifications_V1_GetWebhookRequest, context: ServerContext)
        async throws -> Bizretail_Notifications_V1_Webhook
    {
        .init(
            try await directory.webhook(
                try ServiceError.requiredID(request.publicID), tenantID: try Caller.require().principal.tenantID))
    }

    public func listWebhooks(request: Bizretail_Notifications_V1_ListWebhooksRequest, context: ServerContext)
        async throws -> Bizretail_Notifications_V1_ListWebhooksResponse
    {
        let tenant = try Caller.require().principal.tenantID
        let size = try Pagination.lists.size(request.pageSize)
        let records = try await directory.webhooks(
            tenantID: tenant, after: try pageTokens.position(of: request.pageToken), limit: size + 1)
        let page = pageTokens.page(records, size: size, position: \.id)
        return .with {
            $0.webhooks = page.rows.map(Bizretail_Notifications_V1_Webhook.init)
            $0.nextPageToken = page.next
        }
    }

    public func updateWebhook(request: Bizretail_Notifications_V1_UpdateWebhookRequest, context: ServerContext)
        async throws -> Bizretail_Notifications_V1_Webhook
    {
        let id = try ServiceError.requiredID(request.publicID)
        let caller = try Caller.require()
        let (record, _) = try await directory.change(
            id,
            .update(
                url: request.hasURL ? request.url : nil, eventTypes: request.setEventTypes ? request.eventTypes : nil,
                enabled: request.hasEnabled ? request.enabled : nil),
            expectedVersion: request.hasExpectedVersion ? request.expectedVersion : nil,
            tenantID: caller.principal.tenantID, caller: caller)
        return .init(record)
    }

    public func deleteWebhook(request: Bizretail_Notifications_V1_DeleteWebhookRequest, context: ServerContext)
        async throws -> Bizretail_Notifications_V1_DeleteWebhookResponse
    {
        let id = try ServiceError.requiredID(request.publicID)
        let caller = try Caller.require()
        try await directory.change(id, .delete, tenantID: caller.principal.tenantID, caller: caller)
        return .init()
    }

    public func rotateWebhookSecret(
        request: Bizretail_Notifications_V1_GetWebhookRequest, context: ServerContext
    ) async throws -> Bizretail_Notifications_V1_CreatedWebhook {
        let id = try ServiceError.requiredID(request.publicID)
        let caller = try Caller.require()
        let (record, secret) = try await directory.change(
            id, .rotateSecret, tenantID: caller.principal.tenantID, caller: caller)
        return .with {
            $0.webhook = .init(record)
            $0.secret = secret?.text ?? ""
        }
    }
}

/// `bizretail.notifications.v1.DeliveryService`: the tenant's deliveries and their attempts (admins).
public struct DeliveryGRPCService: Bizretail_Notifications_V1_DeliveryService.SimpleServiceProtocol {
    var deliveries: DeliveryStore
    var pageTokens: PageTokens

    public func listDeliveries(request: Bizretail_Notifications_V1_ListDeliveriesRequest, context: ServerContext)
        async throws -> Bizretail_Notifications_V1_ListDeliveriesResponse
    {
        let tenant = try Caller.require().principal.tenantID
        let size = try Pagination.lists.size(request.pageSize)
        var filter = DeliveryStore.Filter()
        if !request.status.isEmpty {
            guard let status = DeliveryStatus(rawValue: request.status) else {
                throw ServiceError.invalidArgument(field: "status", problem: "must be pending, sent or failed")
            }
            filter.status = status
        }
        if !request.webhookID.isEmpty { filter.webhookID = request.webhookID.lowercased() }
        if !request.eventID.isEmpty { filter.eventID = request.eventID.lowercased() }
        let records = try await deliveries.deliveries(
            tenantID: tenant, filter: filter, before: try pageTokens.position(of: request.pageToken),
            limit: size + 1)
        let page = pageTokens.page(records, size: size, position: \.id)
        return .with {
            $0.deliveries = page.rows.map { .init($0, attempts: []) }
            $0.nextPageToken = page.next
        }
    }

    public func getDelivery(request: Bizretail_Notifications_V1_GetDeliveryRequest, context: ServerContext)
        async throws -> Bizretail_Notifications_V1_Delivery
    {
        let (record, attempts) = try await deliveries.delivery(
            try ServiceError.requiredID(request.publicID), tenantID: try Caller.require().principal.tenantID)
        return .init(record, attempts: attempts)
    }

    public func retryDelivery(request: Bizretail_Notifications_V1_GetDeliveryRequest, context: ServerContext)
        async throws -> Bizretail_Notifications_V1_Delivery
    {
        let (record, attempts) = try await deliveries.retry(
            try ServiceError.requiredID(request.publicID), tenantID: try Caller.require().principal.tenantID)
        return .init(record, attempts: attempts)
    }
}

extension Bizretail_Notifications_V1_Webhook {
    init(_ record: WebhookRecord) {
        self = .with {
            $0.publicID = record.publicID
            $0.tenantID = record.tenantID
            $0.url = record.url
            $0.eventTypes = record.eventTypes.map(\.text)
            $0.enabled = record.enabled
            $0.disabledReason = record.disabledReason ?? ""
            $0.version = record.version
            $0.createdAt = .init(rfc3339: record.createdAt)
            $0.updatedAt = .init(rfc3339: record.updatedAt)
        }
    }
}

extension Bizretail_Notifications_V1_Delivery {
    init(_ record: DeliveryRecord, attempts: [DeliveryAttempt]) {
        self = .with {
            $0.publicID = record.publicID
            $0.tenantID = record.tenantID
            $0.channel = record.channel
            $0.webhookID = record.webhookID ?? ""
            $0.eventID = record.eventID
            $0.eventType = record.eventType
            $0.status = record.status.rawValue
            $0.attemptCount = Int32(clamping: record.attemptCount)
            if record.status == .pending {
                $0.nextAttemptAt = .init(EventTimestamp(millisecondsSinceEpoch: record.nextAttemptAt))
            }
            $0.lastError = record.lastError ?? ""
            $0.attempts = attempts.map { attempt in
                .with {
                    $0.number = Int32(clamping: attempt.number)
                    $0.startedAt = .init(rfc3339: attempt.startedAt)
                    $0.durationMs = attempt.durationMilliseconds
                    $0.responseCode = Int32(clamping: attempt.responseCode)
                    $0.outcome = attempt.outcome
                    $0.error = attempt.error ?? ""
                }
            }
            $0.createdAt = .init(rfc3339: record.createdAt)
            $0.updatedAt = .init(rfc3339: record.updatedAt)
        }
    }
}
