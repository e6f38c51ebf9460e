import BizAuth
import BizEvents
import BizProtos
import BizServiceKit
import GRPCCore
import ServiceLifecycle

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
        if !request.channel.isEmpty {
            guard ["webhook", "email"].contains(request.channel) else {
                throw ServiceError.invalidArgument(field: "channel", problem: "must be webhook or email")
            }
            filter.channel = request.channel
        }
        if !request.ruleID.isEmpty { filter.ruleID = request.ruleID.lowercased() }
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
            $0.ruleID = record.ruleID ?? ""
            $0.recipient = record.recipient ?? ""
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

/// `bizretail.notifications.v1.NotificationTemplateService`: a tenant's templates (admins).
public struct TemplateGRPCService: Bizretail_Notifications_V1_NotificationTemplateService.SimpleServiceProtocol {
    var directory: RuleDirectory
    var pageTokens: PageTokens

    public func createTemplate(request: Bizretail_Notifications_V1_CreateTemplateRequest, context: ServerContext)
        async throws -> Bizretail_Notifications_V1_Template
    {
        .init(
            try await directory.createTemplate(
                key: request.key, locales: request.locales.mapValues(TemplateContent.init), caller: try Caller.require()
            ))
    }

    public func getTemplate(request: Bizretail_Notifications_V1_GetTemplateRequest, context: ServerContext)
        async throws -> Bizretail_Notifications_V1_Template
    {
        .init(try await directory.template(request.key, tenantID: try Caller.require().principal.tenantID))
    }

    public func listTemplates(request: Bizretail_Notifications_V1_ListTemplatesRequest, context: ServerContext)
        async throws -> Bizretail_Notifications_V1_ListTemplatesResponse
    {
        let tenant = try Caller.require().principal.tenantID
        let size = try Pagination.lists.size(request.pageSize)
        let records = try await directory.templates(
            tenantID: tenant, after: try pageTokens.position(of: request.pageToken), limit: size + 1)
        let page = pageTokens.page(records, size: size, position: \.id)
        return .with {
            $0.templates = page.rows.map(Bizretail_Notifications_V1_Template.init)
            $0.nextPageToken = page.next
        }
    }

    public func updateTemplate(request: Bizretail_Notifications_V1_UpdateTemplateRequest, context: ServerContext)
        async throws -> Bizretail_Notifications_V1_Template
    {
        .init(
            try await directory.updateTemplate(
                request.key, setting: request.setLocales.mapValues(TemplateContent.init),
                removing: request.removeLocales,
                expectedVersion: request.hasExpectedVersion ? request.expectedVersion : nil,
                caller: try Caller.require()))
    }

    public func deleteTemplate(request: Bizretail_Notifications_V1_GetTemplateRequest, context: ServerContext)
        async throws -> Bizretail_Notifications_V1_DeleteTemplateResponse
    {
        try await directory.deleteTemplate(request.key, caller: try Caller.require())
        return .init()
    }
}

/// `bizretail.notifications.v1.NotificationRuleService`: a tenant's rules (admins).
public struct RuleGRPCService: Bizretail_Notifications_V1_NotificationRuleService.SimpleServiceProtocol {
    var directory: RuleDirectory
    var pageTokens: PageTokens

    public func createRule(request: Bizretail_Notifications_V1_CreateRuleRequest, context: ServerContext)
        async throws -> Bizretail_Notifications_V1_Rule
    {
        var input = RuleDirectory.RuleInput()
        if request.hasName { input.name = request.name }
        input.eventTypes = request.eventTypes
        if request.hasChannel { input.channel = request.channel }
        if !request.template.isEmpty { input.template = request.template }
        input.recipients = try Self.recipients(request.recipients)
        if request.hasLocale { input.locale = request.locale }
        input.changed = request.changed
        if request.hasEnabled { input.enabled = request.enabled }
        return .init(try await directory.createRule(input, caller: try Caller.require()))
    }

    public func getRule(request: Bizretail_Notifications_V1_GetRuleRequest, context: ServerContext)
        async throws -> Bizretail_Notifications_V1_Rule
    {
        .init(
            try await directory.rule(
                try ServiceError.requiredID(request.publicID), tenantID: try Caller.require().principal.tenantID))
    }

    public func listRules(request: Bizretail_Notifications_V1_ListRulesRequest, context: ServerContext)
        async throws -> Bizretail_Notifications_V1_ListRulesResponse
    {
        let tenant = try Caller.require().principal.tenantID
        let size = try Pagination.lists.size(request.pageSize)
        let records = try await directory.rules(
            tenantID: tenant, after: try pageTokens.position(of: request.pageToken), limit: size + 1)
        let page = pageTokens.page(records, size: size, position: \.id)
        return .with {
            $0.rules = page.rows.map(Bizretail_Notifications_V1_Rule.init)
            $0.nextPageToken = page.next
        }
    }

    public func updateRule(request: Bizretail_Notifications_V1_UpdateRuleRequest, context: ServerContext)
        async throws -> Bizretail_Notifications_V1_Rule
    {
        var input = RuleDirectory.RuleInput()
        if request.hasName { input.name = request.name }
        if request.setEventTypes { input.eventTypes = request.eventTypes }
        if request.hasChannel { input.channel = request.channel }
        if request.hasTemplate { input.template = request.template }
        if request.setRecipients { input.recipients = try Self.recipients(request.recipients) }
        if request.hasLocale { input.locale = request.locale }
        if request.setChanged { input.changed = request.changed }
        if request.hasEnabled { input.enabled = request.enabled }
        return .init(
            try await directory.changeRule(
                try ServiceError.requiredID(request.publicID), .update(input),
                expectedVersion: request.hasExpectedVersion ? request.expectedVersion : nil,
                caller: try Caller.require()))
    }

    public func deleteRule(request: Bizretail_Notifications_V1_GetRuleRequest, context: ServerContext)
        async throws -> Bizretail_Notifications_V1_DeleteRuleResponse
    {
        try await directory.changeRule(
            try ServiceError.requiredID(request.publicID), .delete, expectedVersion: nil, caller: try Caller.require())
        return .init()
    }

    static func recipients(_ messages: [Bizretail_Notifications_V1_Recipient]) throws(ServiceError) -> [Recipient] {
        var recipients: [Recipient] = []
        for (index, message) in messages.enumerated() {
            recipients.append(
                try Recipient.checked(
                    type: message.type, address: message.address, field: message.field, role: message.role,
                    userID: message.userID, webhookID: message.webhookID, at: "recipients[\(index)]"))
        }
        return recipients
    }
}

extension TemplateContent {
    init(_ message: Bizretail_Notifications_V1_TemplateContent) {
        self.init(subject: message.subject, text: message.text, html: message.hasHtml ? message.html : nil)
    }
}

extension Bizretail_Notifications_V1_Template {
    init(_ record: TemplateRecord) {
        self = .with {
            $0.publicID = record.publicID
            $0.tenantID = record.tenantID
            $0.key = record.key
            $0.locales = record.locales.mapValues { content in
                .with {
                    $0.subject = content.subject
                    $0.text = content.text
                    if let html = content.html { $0.html = html }
                }
            }
            $0.version = record.version
            $0.createdAt = .init(rfc3339: record.createdAt)
            $0.updatedAt = .init(rfc3339: record.updatedAt)
        }
    }
}

extension Bizretail_Notifications_V1_Rule {
    init(_ record: RuleRecord) {
        self = .with {
            $0.publicID = record.publicID
            $0.tenantID = record.tenantID
            $0.name = record.name
            $0.eventTypes = record.eventTypes.map(\.text)
            $0.channel = record.channel
            $0.template = record.template
            $0.recipients = record.recipients.map { recipient in
                .with {
                    switch recipient {
                    case .address(let address):
                        $0.type = "address"
                        $0.address = address
                    case .subjectEmail(let field):
                        $0.type = "subject_email"
                        $0.field = field
                    case .contractorContact:
                        $0.type = "contractor_contact"
                    case .role(let role):
                        $0.type = "role"
                        $0.role = role
                    case .user(let user):
                        $0.type = "user"
                        $0.userID = user
                    case .webhook(let webhook):
                        $0.type = "webhook"
                        $0.webhookID = webhook
                    }
                }
            }
            $0.locale = record.locale
            $0.changed = record.changed
            $0.enabled = record.enabled
            $0.version = record.version
            $0.createdAt = .init(rfc3339: record.createdAt)
            $0.updatedAt = .init(rfc3339: record.updatedAt)
        }
    }
}

/// `bizretail.notifications.v1.InboxService`: the caller's own in-app notifications (any signed-in user).
public struct InboxGRPCService: Bizretail_Notifications_V1_InboxService.SimpleServiceProtocol {
    var inbox: Inbox
    var pageTokens: PageTokens

    public func listNotifications(
        request: Bizretail_Notifications_V1_ListNotificationsRequest, context: ServerContext
    ) async throws -> Bizretail_Notifications_V1_ListNotificationsResponse {
        let principal = try Caller.require().principal
        let size = try Pagination.lists.size(request.pageSize)
        let items = try await inbox.items(
            tenantID: principal.tenantID, userID: principal.subject, unreadOnly: request.unreadOnly,
            before: try pageTokens.position(of: request.pageToken), limit: size + 1)
        let page = pageTokens.page(items, size: size, position: \.id)
        let unread = try await inbox.unreadCount(tenantID: principal.tenantID, userID: principal.subject)
        return .with {
            $0.notifications = page.rows.map(Bizretail_Notifications_V1_InAppNotification.init)
            $0.nextPageToken = page.next
            $0.unreadCount = unread
        }
    }

    public func markNotificationRead(
        request: Bizretail_Notifications_V1_MarkNotificationReadRequest, context: ServerContext
    ) async throws -> Bizretail_Notifications_V1_InAppNotification {
        let principal = try Caller.require().principal
        return .init(
            try await inbox.markRead(
                try ServiceError.requiredID(request.publicID), tenantID: principal.tenantID,
                userID: principal.subject))
    }

    public func markAllNotificationsRead(
        request: Bizretail_Notifications_V1_MarkAllNotificationsReadRequest, context: ServerContext
    ) async throws -> Bizretail_Notifications_V1_MarkAllNotificationsReadResponse {
        let principal = try Caller.require().principal
        let marked = try await inbox.markAllRead(tenantID: principal.tenantID, userID: principal.subject)
        return .with { $0.marked = marked }
    }

    /// Streams the caller's new notifications until the call is cancelled. The caller is read here, where the auth
    /// interceptor's scope holds: a streaming response's body runs after it.
    public func watchNotifications(
        request: ServerRequest<Bizretail_Notifications_V1_WatchNotificationsRequest>, context: ServerContext
    ) async throws -> StreamingServerResponse<Bizretail_Notifications_V1_InAppNotification> {
        let principal = try Caller.require().principal
        let feed = inbox.feed.watch(tenantID: principal.tenantID, userID: principal.subject)
        return StreamingServerResponse { writer in
            // Ends when the caller goes, and when the service shuts down (which waits for every call to end).
            try? await cancelWhenGracefulShutdown {
                for await item in feed { try await writer.write(.init(item)) }
            }
            return [:]
        }
    }

    /// The simple form, which the streaming one above replaces (it is never called by the generated service).
    public func watchNotifications(
        request: Bizretail_Notifications_V1_WatchNotificationsRequest,
        response: RPCWriter<Bizretail_Notifications_V1_InAppNotification>, context: ServerContext
    ) async throws {
        let principal = try Caller.require().principal
        for await item in inbox.feed.watch(tenantID: principal.tenantID, userID: principal.subject) {
            try await response.write(.init(item))
        }
    }
}

extension Bizretail_Notifications_V1_InAppNotification {
    init(_ item: InboxItem) {
        self = .with {
            $0.publicID = item.publicID
            $0.tenantID = item.tenantID
            $0.userID = item.userID
            $0.ruleID = item.ruleID
            $0.eventID = item.eventID
            $0.eventType = item.eventType
            $0.title = item.title
            $0.body = item.body
            $0.createdAt = .init(rfc3339: item.createdAt)
            if let read = item.readAt { $0.readAt = .init(rfc3339: read) }
        }
    }
}
