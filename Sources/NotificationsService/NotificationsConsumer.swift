import BizAuth
import BizEvents
import BizFlags
import BizMail
import BizMessaging
import Crypto
import Foundation
import Logging
import SQLKit

/// Turns events into deliveries, in one transaction per batch:
///
/// - every enabled webhook of the event's tenant whose types match gets one;
/// - every enabled rule of the event's tenant whose types (and `changed` condition) match gets one per recipient,
///   rendered from the rule's template now (so every attempt sends the same message).
///
/// Only webhooks and rules that existed when the event happened count (a redelivery of the past is not sent to a
/// newer subscription). Making deliveries is idempotent (one per event and webhook, or event, rule and recipient),
/// so a redelivered batch makes nothing twice; the batch is committed only once its deliveries are written. On the
/// way, the users' and contractors' events keep what recipients resolve against. A tenant seen for the first time
/// gets its default templates and rules. Events that fail validation are the Audit service's to dead-letter: here
/// they cause nothing. Notifications' own events never cause deliveries.
///
/// The flags `notifications-email`, `notifications-webhook` and `notifications-in-app` (on by default; context:
/// the event's `tenant_id`, `service` `notifications`) turn a channel off per tenant: while one is off, the tenant's
/// events make nothing on it.
public struct NotificationsConsumer: EventConsumer {
    public let name: String
    var webhooks: WebhookDirectory
    var rules: RuleDirectory
    var deliveries: DeliveryStore
    var inbox: Inbox
    var flags: FeatureFlags
    var logger: Logger

    /// The flag of each channel.
    static let channelFlags = [
        "email": "notifications-email", "webhook": "notifications-webhook", "in_app": "notifications-in-app",
    ]

    public init(
        name: String = "notifications", webhooks: WebhookDirectory, rules: RuleDirectory, deliveries: DeliveryStore,
        inbox: Inbox? = nil, flags: FeatureFlags = FeatureFlags(), logger: Logger
    ) {
        self.name = name
        self.webhooks = webhooks
        self.rules = rules
        self.deliveries = deliveries
        self.inbox = inbox ?? Inbox(store: deliveries.store)
        self.flags = flags
        self.logger = logger
    }

    public func prepare(_ batch: [DeliveredMessage]) async -> [EventEnvelope] {
        batch.compactMap { message in
            guard !message.eventType.hasPrefix(NotificationsEvents.entity + ".") else { return nil }
            return try? EventEnvelope.decode(message.body)
        }
    }

    public func apply(_ events: [EventEnvelope]) async throws {
        guard !events.isEmpty else { return }
        var since: [String: EventTimestamp] = [:]
        for event in events {
            since[Self.tenant(of: event)] = min(since[Self.tenant(of: event)] ?? .now(), event.timestamp)
        }
        let tenants = Set(since.keys)
        let earliest = since
        let logger = logger
        let off = channelsOff(tenants)
        let (made, notified) = try await deliveries.outbox.perform { database in
            let seeding = try await rules.seed(tenants, since: earliest, on: database)
            try await Projections.apply(events, on: database)
            let enabled = try await webhooks.subscribers(tenants: tenants, on: database)
            var new = webhookDeliveries(events, webhooks: enabled)
            let messages = try await ruleMessages(
                events, tenants: tenants, webhooks: Set(enabled.map(\.publicID)), logger: logger, on: database)
            new += messages.deliveries
            new.removeAll { off.contains("\($0.tenantID)/\($0.channel)") }
            let notified = try await inbox.insert(
                messages.inbox.filter { !off.contains("\($0.tenantID)/in_app") }, on: database)
            return ((try await deliveries.enqueue(new, on: database), notified), seeding)
        }
        rules.markSeeded(tenants)
        inbox.feed.publish(notified)
        if made > 0 {
            deliveries.due.signal()
            logger.debug("deliveries made", metadata: ["count": "\(made)"])
        }
    }

    /// `tenant/channel` for each channel its flag turns off for the tenant.
    func channelsOff(_ tenants: Set<String>) -> Set<String> {
        var off: Set<String> = []
        for tenant in tenants {
            let context = EvaluationContext(user: nil, tenant: tenant, service: "notifications")
            for (channel, flag) in Self.channelFlags where !flags.boolean(flag, default: true, context: context) {
                off.insert("\(tenant)/\(channel)")
            }
        }
        return off
    }

    /// Every enabled webhook whose types match an event gets it.
    func webhookDeliveries(_ events: [EventEnvelope], webhooks: [WebhookRecord]) -> [NewDelivery] {
        let subscribers = Dictionary(grouping: webhooks, by: \.tenantID)
        var new: [NewDelivery] = []
        for event in events {
            for webhook in subscribers[Self.tenant(of: event)] ?? []
            where webhook.matches(event.eventType.description) && webhook.createdBefore(event) {
                new.append(
                    NewDelivery(
                        tenantID: webhook.tenantID, dedupeKey: "\(event.eventID)/webhook/\(webhook.publicID)",
                        channel: "webhook", webhookID: webhook.publicID, eventID: event.eventID,
                        eventType: event.eventType.description, ownershipID: event.metadata.ownershipID,
                        body: Self.webhookBody(event)))
            }
        }
        return new
    }

    /// The rules' messages: email and webhook deliveries (a webhook rule's to the named webhooks that are enabled),
    /// and in-app notifications (stored at once: there is nothing to send).
    func ruleMessages(
        _ events: [EventEnvelope], tenants: Set<String>, webhooks enabled: Set<String>, logger: Logger,
        on database: any SQLDatabase
    ) async throws -> (deliveries: [NewDelivery], inbox: [NewInboxItem]) {
        let byTenant = Dictionary(
            grouping: try await rules.enabledRules(tenants: tenants, on: database), by: \.tenantID)
        guard !byTenant.isEmpty else { return ([], []) }
        var templates: [String: TemplateRecord]?
        var compiled: [String: CompiledContent] = [:]
        var new: [NewDelivery] = []
        var inboxItems: [NewInboxItem] = []
        for event in events {
            let tenant = Self.tenant(of: event)
            let entity = event.eventType.entityType
            let candidates = byTenant[tenant] ?? []
            // Every event of a watched entity is observed, so a change is told from the state just before it.
            let watched = candidates.filter { !$0.changed.isEmpty && $0.watches(entity: entity) }.flatMap(\.changed)
            let changes = try await EntityChanges.observe(event, tenant: tenant, watching: watched, on: database)
            let matching = candidates.filter { $0.matches(event.eventType.description) && $0.createdBefore(event) }
            guard !matching.isEmpty else { continue }
            if templates == nil { templates = try await rules.templates(tenants: tenants, on: database) }
            var context: [String: Any]?
            for rule in matching where rule.changed.isEmpty || !changes.isDisjoint(with: rule.changed) {
                if rule.channel == "webhook" {
                    for case .webhook(let id) in rule.recipients where enabled.contains(id) {
                        new.append(
                            NewDelivery(
                                tenantID: tenant, dedupeKey: "\(event.eventID)/rule/\(rule.publicID)/webhook/\(id)",
                                channel: "webhook", webhookID: id, ruleID: rule.publicID, eventID: event.eventID,
                                eventType: event.eventType.description, ownershipID: event.metadata.ownershipID,
                                body: Self.webhookBody(event)))
                    }
                    continue
                }
                guard let template = templates?["\(tenant)/\(rule.template)"] else {
                    logger.warning(
                        "a notification rule names no template", metadata: ["rule_id": "\(rule.publicID)"])
                    continue
                }
                let message: RenderedMessage
                do {
                    // Each template is parsed once per batch, and each event's context made once.
                    let key = "\(tenant)/\(rule.template)/\(rule.locale)"
                    let content = try compiled[key] ?? template.compiled(for: rule.locale)
                    compiled[key] = content
                    let eventContext = context ?? CompiledContent.context(of: event, tenantID: tenant)
                    context = eventContext
                    message = content.render(eventContext)
                } catch {
                    logger.warning("a template did not render", metadata: ["rule_id": "\(rule.publicID)"])
                    continue
                }
                if rule.channel == "in_app" {
                    for user in try await Recipients.users(rule.recipients, tenant: tenant, on: database) {
                        inboxItems.append(
                            NewInboxItem(
                                tenantID: tenant, userID: user,
                                dedupeKey: "\(event.eventID)/rule/\(rule.publicID)/\(user)", ruleID: rule.publicID,
                                eventID: event.eventID, eventType: event.eventType.description,
                                ownershipID: event.metadata.ownershipID, title: message.subject, body: message.text))
                    }
                    continue
                }
                for address in try await Recipients.resolve(rule.recipients, for: event, tenant: tenant, on: database) {
                    new.append(
                        NewDelivery(
                            tenantID: tenant, dedupeKey: "\(event.eventID)/rule/\(rule.publicID)/\(address)",
                            channel: rule.channel, webhookID: nil, ruleID: rule.publicID, recipient: address,
                            eventID: event.eventID, eventType: event.eventType.description,
                            ownershipID: event.metadata.ownershipID, body: EmailBody(message).data))
                }
            }
        }
        return (new, inboxItems)
    }

    /// The tenant whose webhooks and rules see an event: its own, and the platform's for events of no tenant.
    static func tenant(of event: EventEnvelope) -> String {
        event.tenantID.isEmpty ? AuthInterceptor.platformTenant : event.tenantID
    }

    /// What a webhook receives (Standard Webhooks' shape): `type`, `timestamp` (the event's), `data` (the entity's
    /// state after the change), and the event's id and tenant.
    public static func webhookBody(_ event: EventEnvelope) -> Data {
        let body: JSONValue = [
            "type": .string(event.eventType.description), "timestamp": .string(event.timestamp.rfc3339),
            "event_id": .string(event.eventID), "tenant_id": .string(tenant(of: event)),
            "data": .object(event.payload),
        ]
        return Data(body.canonicalBytes())
    }
}

/// An email delivery's stored message: what every attempt sends.
struct EmailBody: Sendable, Hashable {
    var message: RenderedMessage

    init(_ message: RenderedMessage) { self.message = message }

    init?(_ data: Data) {
        guard let json = try? JSONParser.parse(Array(data)), let subject = json["subject"]?.stringValue,
            let text = json["text"]?.stringValue
        else { return nil }
        message = RenderedMessage(subject: subject, text: text, html: json["html"]?.stringValue)
    }

    var data: Data {
        let json: JSONValue = [
            "subject": .string(message.subject), "text": .string(message.text),
            "html": message.html.map(JSONValue.string) ?? .null,
        ]
        return Data(json.canonicalBytes())
    }
}

/// Who a rule's recipients are for one event.
enum Recipients {
    /// The addresses, lower-cased, each once, in the rules' order; a recipient with no address (an event without
    /// the field, a tenant without a contact) is left out.
    static func resolve(
        _ recipients: [Recipient], for event: EventEnvelope, tenant: String, on database: any SQLDatabase
    )
        async throws -> [String]
    {
        var addresses: [String] = []
        func add(_ text: String?) {
            guard let address = text?.trimmingCharacters(in: .whitespaces).lowercased(), Mailbox(address).isValid,
                !addresses.contains(address)
            else { return }
            addresses.append(address)
        }
        for recipient in recipients {
            switch recipient {
            case .address(let address):
                add(address)
            case .subjectEmail(let field):
                add(event.payload[field]?.stringValue)
            case .contractorContact:
                add(
                    try await database.raw(
                        "SELECT contact_email FROM known_contractors WHERE tenant_id = \(bind: tenant)"
                    ).first()?.decode(column: "contact_email", as: String.self))
            case .user(let user):
                add(
                    try await database.raw(
                        """
                        SELECT email FROM known_users WHERE tenant_id = \(bind: tenant) AND user_id = \(bind: user)
                        AND enabled = \(bind: true)
                        """
                    ).first()?.decode(column: "email", as: String.self))
            case .role(let role):
                for user in try await knownUsers(withRole: role, tenant: tenant, on: database) { add(user.email) }
            case .webhook:
                continue
            }
        }
        return addresses
    }
}

extension Recipients {
    /// The users an in-app rule reaches: each named one, and the enabled users with each role, each once.
    static func users(_ recipients: [Recipient], tenant: String, on database: any SQLDatabase) async throws
        -> [String]
    {
        var users: [String] = []
        for recipient in recipients {
            switch recipient {
            case .user(let user):
                if !users.contains(user) { users.append(user) }
            case .role(let role):
                for user in try await knownUsers(withRole: role, tenant: tenant, on: database)
                where !users.contains(user.id) {
                    users.append(user.id)
                }
            case .address, .subjectEmail, .contractorContact, .webhook:
                continue
            }
        }
        return users
    }

    /// The tenant's enabled users with `role`, as the users' events left them.
    static func knownUsers(withRole role: String, tenant: String, on database: any SQLDatabase) async throws
        -> [(id: String, email: String)]
    {
        try await database.raw(
            """
            SELECT user_id, email, roles FROM known_users WHERE tenant_id = \(bind: tenant) AND enabled = \(bind: true)
            ORDER BY user_id
            """
        ).all().compactMap { row in
            let roles = try row.decode(column: "roles", as: String.self)
            let names = (try? JSONParser.parse(Array(roles.utf8)))?.arrayValue?.compactMap(\.stringValue) ?? []
            guard names.contains(role) else { return nil }
            return (
                try row.decode(column: "user_id", as: String.self), try row.decode(column: "email", as: String.self)
            )
        }
    }
}

/// What recipients resolve against, kept from the events: each tenant's users (`user.*`) and its contractor's contact
/// (`client_contractor.*`). An older version than the one kept changes nothing (a redelivery).
enum Projections {
    static func apply(_ events: [EventEnvelope], on database: any SQLDatabase) async throws {
        for event in events {
            let payload = event.payload
            let version = payload["version"]?.integerValue ?? 0
            switch event.eventType.entityType {
            case "user":
                guard let tenant = payload["tenant_id"]?.stringValue, let user = payload["public_id"]?.stringValue
                else { continue }
                if event.eventType.verb == .deleted {
                    try await database.raw(
                        "DELETE FROM known_users WHERE tenant_id = \(bind: tenant) AND user_id = \(bind: user)"
                    ).run()
                    continue
                }
                let roles = RuleRecord.text(payload["roles"] ?? .array([]))
                try await database.raw(
                    """
                    INSERT INTO known_users (tenant_id, user_id, email, roles, enabled, version)
                    VALUES (\(bind: tenant), \(bind: user), \(bind: payload["email"]?.stringValue ?? ""), \(bind: roles),
                    \(bind: payload["enabled"] != .bool(false)), \(bind: version))
                    ON CONFLICT (tenant_id, user_id) DO UPDATE SET email = excluded.email, roles = excluded.roles,
                    enabled = excluded.enabled, version = excluded.version WHERE known_users.version <= excluded.version
                    """
                ).run()
            case "client_contractor":
                guard let tenant = payload["public_id"]?.stringValue else { continue }
                if event.eventType.verb == .deleted {
                    try await database.raw("DELETE FROM known_contractors WHERE tenant_id = \(bind: tenant)").run()
                    continue
                }
                try await database.raw(
                    """
                    INSERT INTO known_contractors (tenant_id, contact_email, version)
                    VALUES (\(bind: tenant), \(bind: payload["contact_email"]?.stringValue ?? ""), \(bind: version))
                    ON CONFLICT (tenant_id) DO UPDATE SET contact_email = excluded.contact_email,
                    version = excluded.version WHERE known_contractors.version <= excluded.version
                    """
                ).run()
            default:
                continue
            }
        }
    }
}

/// The payload fields an event changed, against the last state of its entity the service kept: a digest per
/// field, kept for the entities a rule's `changed` watches. An entity never seen counts as all changed; an event
/// older than the state kept (a redelivery) as nothing changed.
enum EntityChanges {
    static func observe(_ event: EventEnvelope, tenant: String, watching: [String], on database: any SQLDatabase)
        async throws -> Set<String>
    {
        guard !watching.isEmpty, let id = event.payload["public_id"]?.stringValue else { return [] }
        let key = "\(tenant)/\(event.eventType.entityType)/\(id)"
        let version = event.payload["version"]?.integerValue ?? 0
        var digests: [String: JSONValue] = [:]
        for (field, value) in event.payload {
            let digest = SHA256.hash(data: value.canonicalBytes())
            digests[field] = .string(digest.prefix(12).map { String(format: "%02x", $0) }.joined())
        }
        let kept = try await database.raw(
            "SELECT version, fields FROM entity_states WHERE entity_key = \(bind: key)"
        ).first()
        var changed = Set(digests.keys)
        if let kept {
            guard try kept.decode(column: "version", as: Int64.self) < version else { return [] }
            let text = try kept.decode(column: "fields", as: String.self)
            let before = (try? JSONParser.parse(Array(text.utf8)))?.objectValue ?? [:]
            changed = Set(digests.keys.filter { digests[$0] != before[$0] }).union(
                before.keys.filter { digests[$0] == nil })
        }
        try await database.raw(
            """
            INSERT INTO entity_states (entity_key, version, fields) VALUES (\(bind: key), \(bind: version),
            \(bind: RuleRecord.text(.object(digests))))
            ON CONFLICT (entity_key) DO UPDATE SET version = excluded.version, fields = excluded.fields
            """
        ).run()
        return changed
    }
}
