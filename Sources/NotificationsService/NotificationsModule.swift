import BizAuth
import BizEvents
import BizMail
import BizProtos
import BizServiceKit
import BizStorage
import GRPCCore

/// The Notifications service's entry point: consumes the event log into deliveries (its own consumer group in the
/// distributed mode), sends them, and serves webhook subscriptions and the deliveries over gRPC.
public enum NotificationsModule: ServiceModule {
    public static let name = "notifications"
    public static let producerService = "notifications_service"
    public static let migrations = NotificationsSchema.migrations
    public static let producedEvents = NotificationsEvents.produced
    /// A tenant's admins, within their tenant; the inbox is every signed-in user's own.
    public static let access = AccessRules(requiredRoles: [
        Bizretail_Notifications_V1_WebhookService.descriptor.fullyQualifiedService: ["admin"],
        Bizretail_Notifications_V1_DeliveryService.descriptor.fullyQualifiedService: ["admin"],
        Bizretail_Notifications_V1_NotificationTemplateService.descriptor.fullyQualifiedService: ["admin"],
        Bizretail_Notifications_V1_NotificationRuleService.descriptor.fullyQualifiedService: ["admin"],
    ])
    public static let probe = Bizretail_Notifications_V1_WebhookService.Method.ListWebhooks.descriptor

    public static func assemble(_ context: ServiceContext) async throws -> ServiceParts {
        let settings = context.configuration.notifications
        let policy = try DestinationPolicy(allowList: settings.webhookAllowedHosts)
        let webhooks = WebhookDirectory(
            outbox: context.outbox, events: context.events, masterKey: context.masterKey, policy: policy)
        let deliveries = DeliveryStore(
            outbox: context.outbox, events: context.events,
            schedule: RetrySchedule(
                attempts: settings.maximumAttempts, baseDelay: Int64(settings.retryBaseMilliseconds),
                maximumDelay: Int64(settings.retryMaximumMilliseconds)))
        let sender = try WebhookSender(
            settings: .init(
                policy: policy, timeout: Int64(settings.webhookTimeout),
                certificateAuthorities: settings.webhookCertificateAuthorities))
        context.onShutdown { await sender.shutdown() }
        let mailer = try EmailSender(
            client: settings.smtpURL.map { url in
                var smtp = try SMTPSettings(url: url.value)
                smtp.certificateAuthorities = settings.smtpCertificateAuthorities
                return try SMTPClient(settings: smtp)
            },
            from: settings.smtpFrom.flatMap(EmailSender.mailbox) ?? EmailSender.defaultFrom)
        context.onShutdown { mailer.shutdown() }
        let rules = RuleDirectory(outbox: context.outbox, events: context.events)
        let inbox = Inbox(store: context.outbox.store)
        let pageTokens = PageTokens(masterKey: context.masterKey)
        return ServiceParts(
            grpcServices: [
                WebhookGRPCService(directory: webhooks, pageTokens: pageTokens),
                DeliveryGRPCService(deliveries: deliveries, pageTokens: pageTokens),
                TemplateGRPCService(directory: rules, pageTokens: pageTokens),
                RuleGRPCService(directory: rules, pageTokens: pageTokens),
                InboxGRPCService(inbox: inbox, pageTokens: pageTokens),
            ],
            background: [
                DeliveryDispatcher(
                    deliveries: deliveries, webhooks: webhooks, sender: sender, mailer: mailer, logger: context.logger)
            ],
            subscriptions: [
                EventSubscription(
                    consumer: NotificationsConsumer(
                        webhooks: webhooks, rules: rules, deliveries: deliveries, inbox: inbox, flags: context.flags,
                        logger: context.logger))
            ])
    }
}
