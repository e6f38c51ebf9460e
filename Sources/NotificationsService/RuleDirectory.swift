import BizAuth
import BizEvents
import BizOutbox
import BizServiceKit
import BizStorage
import Foundation
import SQLKit
import Synchronization

/// Each tenant's templates and rules. A tenant starts with the defaults (a welcome email on `account.created`, a
/// message to the contractor's contact when its contract changes), made the first time the service sees the tenant,
/// and then the tenant's own to change or delete. Every change writes the row and its event in one transaction.
public struct RuleDirectory: Sendable {
    public var outbox: Outbox
    public var events: EventFactory
    /// Tenants known to have their defaults (so the check is a lookup, not a query, after the first time).
    private let seeded = SeededTenants()

    final class SeededTenants: Sendable {
        let tenants = Mutex<Set<String>>([])
    }

    public init(outbox: Outbox, events: EventFactory) {
        self.outbox = outbox
        self.events = events
    }

    var store: any SQLStore { outbox.store }

    // MARK: Defaults

    /// Makes the defaults of the tenants that have none yet, in the caller's transaction; answers their events.
    /// `since`: a tenant's earliest event being consumed, which its default rules then apply to (the first account
    /// of a tenant gets its welcome).
    func seed(_ tenants: Set<String>, since: [String: EventTimestamp] = [:], on database: any SQLDatabase)
        async throws -> [EventEnvelope]
    {
        let unknown = seeded.tenants.withLock { tenants.subtracting($0) }
        guard !unknown.isEmpty else { return [] }
        let now = EventTimestamp.now().rfc3339
        var made: [EventEnvelope] = []
        for tenant in unknown.sorted() {
            let inserted = try await database.raw(
                """
                INSERT INTO seeded_tenants (tenant_id, seeded_at) VALUES (\(bind: tenant), \(bind: now))
                ON CONFLICT (tenant_id) DO NOTHING RETURNING tenant_id
                """
            ).all()
            guard !inserted.isEmpty else { continue }
            for (key, locales) in DefaultMessages.templates {
                let record = TemplateRecord(
                    publicID: EventID.generate(), tenantID: tenant, key: key, locales: locales, now: now)
                made.append(templateEvent(.created, try await insert(record, on: database), caller: nil))
            }
            for rule in DefaultMessages.rules(tenant: tenant, now: since[tenant].map { min($0, .now()).rfc3339 } ?? now)
            {
                made.append(ruleEvent(.created, try await insert(rule, on: database), caller: nil))
            }
        }
        return made
    }

    /// After the transaction that seeded them committed.
    func markSeeded(_ tenants: Set<String>) {
        seeded.tenants.withLock { $0.formUnion(tenants) }
    }

    /// Runs `body` in a transaction after making `tenant`'s defaults if it has none.
    func withDefaults<T: Sendable>(
        _ tenant: String, _ body: @escaping @Sendable (any SQLDatabase) async throws -> (T, [EventEnvelope])
    ) async throws -> T {
        let value = try await outbox.perform { database in
            let seeding = try await seed([tenant], on: database)
            let (value, events) = try await body(database)
            return (value, seeding + events)
        }
        markSeeded([tenant])
        return value
    }

    // MARK: Templates

    public func createTemplate(key: String, locales: [String: TemplateContent], caller: Caller) async throws
        -> TemplateRecord
    {
        let key = try TemplateRecord.checkedKey(key)
        let checked = try TemplateRecord.checkedLocales(locales)
        let record = TemplateRecord(
            publicID: EventID.generate(), tenantID: caller.principal.tenantID, key: key, locales: checked,
            now: EventTimestamp.now().rfc3339)
        return try await withDefaults(record.tenantID) { database in
            guard try await Self.loadTemplate(key, tenant: record.tenantID, on: database) == nil else {
                throw ServiceError.conflict(field: "key", problem: "is taken by another template")
            }
            let stored = try await insert(record, on: database)
            return (stored, [templateEvent(.created, stored, caller: caller)])
        }
    }

    public func template(_ key: String, tenantID: String) async throws -> TemplateRecord {
        let found = try await withDefaults(tenantID) { database in
            (try await Self.loadTemplate(key, tenant: tenantID, on: database), [])
        }
        guard let found else { throw ServiceError.notFound("template") }
        return found
    }

    public func templates(tenantID: String, after: Int64?, limit: Int) async throws -> [TemplateRecord] {
        try await withDefaults(tenantID) { database in
            let rows = try await database.raw(
                """
                SELECT \(unsafeRaw: TemplateRecord.columns) FROM notification_templates
                WHERE tenant_id = \(bind: tenantID) AND deleted_at IS NULL AND id > \(bind: after ?? 0)
                ORDER BY id LIMIT \(bind: limit)
                """
            ).all().map(TemplateRecord.init(row:))
            return (rows, [])
        }
    }

    /// Sets the given locales' content and removes `removing`; the result must still be valid.
    public func updateTemplate(
        _ key: String, setting: [String: TemplateContent], removing: [String], expectedVersion: Int64?,
        caller: Caller
    ) async throws -> TemplateRecord {
        let tenant = caller.principal.tenantID
        let now = EventTimestamp.now().rfc3339
        return try await withDefaults(tenant) { database in
            guard var record = try await Self.loadTemplate(key, tenant: tenant, on: database) else {
                throw ServiceError.notFound("template")
            }
            if let expectedVersion, expectedVersion != record.version {
                throw ServiceError.versionMismatch(current: record.version)
            }
            var locales = record.locales
            for name in removing { locales[try MessageLocale.checked(name, field: "locales")] = nil }
            for (name, content) in setting { locales[try MessageLocale.checked(name, field: "locales")] = content }
            record.locales = try TemplateRecord.checkedLocales(locales)
            record.version += 1
            record.updatedAt = now
            try await database.raw(
                """
                UPDATE notification_templates SET locales = \(bind: record.localesText), version = \(bind: record.version),
                updated_at = \(bind: now) WHERE id = \(bind: record.id)
                """
            ).run()
            return (record, [templateEvent(.updated, record, caller: caller)])
        }
    }

    /// Deletes a template no rule uses (409 names the rules that do).
    public func deleteTemplate(_ key: String, caller: Caller) async throws {
        let tenant = caller.principal.tenantID
        let now = EventTimestamp.now().rfc3339
        try await withDefaults(tenant) { database in
            guard var record = try await Self.loadTemplate(key, tenant: tenant, on: database) else {
                throw ServiceError.notFound("template")
            }
            let users = try await database.raw(
                """
                SELECT public_id FROM notification_rules WHERE tenant_id = \(bind: tenant)
                AND template_key = \(bind: key) AND deleted_at IS NULL ORDER BY id LIMIT 5
                """
            ).all().map { try $0.decode(column: "public_id", as: String.self) }
            guard users.isEmpty else {
                throw ServiceError.conflict(
                    field: "key",
                    problem: "is used by rules \(users.joined(separator: ", ")): change or delete them first")
            }
            record.version += 1
            record.updatedAt = now
            try await database.raw(
                """
                UPDATE notification_templates SET deleted_at = \(bind: now), version = \(bind: record.version),
                updated_at = \(bind: now) WHERE id = \(bind: record.id)
                """
            ).run()
            return ((), [templateEvent(.deleted, record, caller: caller)])
        }
    }

    func insert(_ record: TemplateRecord, on database: any SQLDatabase) async throws -> TemplateRecord {
        let row = try await database.raw(
            """
            INSERT INTO notification_templates (public_id, tenant_id, template_key, locales, version, created_at, updated_at)
            VALUES (\(bind: record.publicID), \(bind: record.tenantID), \(bind: record.key), \(bind: record.localesText),
            \(bind: record.version), \(bind: record.createdAt), \(bind: record.updatedAt))
            RETURNING \(unsafeRaw: TemplateRecord.columns)
            """
        ).first()
        return try TemplateRecord(row: row!)
    }

    static func loadTemplate(_ key: String, tenant: String, on database: any SQLDatabase) async throws
        -> TemplateRecord?
    {
        try await database.raw(
            """
            SELECT \(unsafeRaw: TemplateRecord.columns) FROM notification_templates
            WHERE tenant_id = \(bind: tenant) AND template_key = \(bind: key) AND deleted_at IS NULL
            """
        ).first().map(TemplateRecord.init(row:))
    }

    /// The templates of these tenants by (tenant, key), for rendering.
    func templates(tenants: Set<String>, on database: any SQLDatabase) async throws -> [String: TemplateRecord] {
        guard !tenants.isEmpty else { return [:] }
        let rows = try await database.select().column(SQLRaw(TemplateRecord.columns)).from("notification_templates")
            .where(SQLColumn("tenant_id"), .in, SQLBind.group(tenants.sorted()))
            .where(SQLColumn("deleted_at"), .is, SQLLiteral.null)
            .all().map(TemplateRecord.init(row:))
        return Dictionary(rows.map { ("\($0.tenantID)/\($0.key)", $0) }, uniquingKeysWith: { first, _ in first })
    }

    func templateEvent(_ verb: EventVerb, _ record: TemplateRecord, caller: Caller?) -> EventEnvelope {
        event(NotificationsEvents.template(verb), payload: record.payload, ownershipID: record.publicID, caller: caller)
    }

    // MARK: Rules

    /// A rule as a request gives it (nil: left as it is, on an update).
    public struct RuleInput: Sendable {
        public var name: String?
        public var eventTypes: [String]?
        public var channel: String?
        public var template: String?
        public var recipients: [Recipient]?
        public var locale: String?
        public var changed: [String]?
        public var enabled: Bool?

        public init() {}

        /// Whether it is a disable or an enable, and nothing else.
        var setsOnlyEnabled: Bool {
            name == nil && eventTypes == nil && channel == nil && template == nil && recipients == nil
                && locale == nil && changed == nil && enabled != nil
        }
    }

    public func createRule(_ input: RuleInput, caller: Caller) async throws -> RuleRecord {
        let tenant = caller.principal.tenantID
        var record = RuleRecord(
            publicID: EventID.generate(), tenantID: tenant, name: "", eventTypes: [], channel: "email", template: "",
            recipients: [], locale: MessageLocale.default, changed: [], enabled: true,
            now: EventTimestamp.now().rfc3339)
        guard input.eventTypes != nil else {
            throw ServiceError.invalidArgument(field: "event_types", problem: "is required")
        }
        guard input.recipients != nil else {
            throw ServiceError.invalidArgument(field: "recipients", problem: "is required")
        }
        try apply(input, to: &record)
        let checked = record
        return try await withDefaults(tenant) { database in
            try await requireReferences(of: checked, on: database)
            let stored = try await insert(checked, on: database)
            return (stored, [ruleEvent(.created, stored, caller: caller)])
        }
    }

    func apply(_ input: RuleInput, to record: inout RuleRecord) throws {
        if let name = input.name {
            record.name = try TextInput.required(name, field: "name", limit: 200)
        } else if record.name.isEmpty {
            record.name = input.template ?? (input.channel == "webhook" ? "webhook" : record.template)
        }
        if let types = input.eventTypes { record.eventTypes = try EventPattern.list(types) }
        if let channel = input.channel {
            guard RuleRecord.channels.contains(channel) else {
                throw ServiceError.invalidArgument(
                    field: "channel", problem: "must be \(RuleRecord.channels.joined(separator: " or "))")
            }
            record.channel = channel
        }
        if let template = input.template { record.template = try TemplateRecord.checkedKey(template) }
        if let recipients = input.recipients {
            guard (1...20).contains(recipients.count) else {
                throw ServiceError.invalidArgument(field: "recipients", problem: "must hold 1 to 20 recipients")
            }
            record.recipients = recipients
        }
        if let locale = input.locale { record.locale = try MessageLocale.checked(locale, field: "locale") }
        if let changed = input.changed { record.changed = try RuleRecord.checkedChanged(changed) }
        if let enabled = input.enabled { record.enabled = enabled }
        try Self.checkChannel(of: record)
    }

    /// What a channel needs: in-app rules reach users, webhook rules webhooks (and have no template), the others
    /// a template and no webhook.
    static func checkChannel(of record: RuleRecord) throws(ServiceError) {
        let webhook: (Recipient) -> Bool = { if case .webhook = $0 { true } else { false } }
        switch record.channel {
        case "in_app":
            if let other = record.recipients.firstIndex(where: { !$0.reachesUsers }) {
                throw .unprocessable(
                    field: "recipients[\(other)]", problem: "in-app notifications go to users: use role or user")
            }
        case "webhook":
            if let other = record.recipients.firstIndex(where: { !webhook($0) }) {
                throw .unprocessable(field: "recipients[\(other)]", problem: "a webhook rule sends to webhooks only")
            }
            return
        default:
            if let other = record.recipients.firstIndex(where: webhook) {
                throw .unprocessable(field: "recipients[\(other)]", problem: "only a webhook rule sends to a webhook")
            }
        }
        guard !record.template.isEmpty else {
            throw .unprocessable(field: "template", problem: "is required (but for a webhook rule)")
        }
    }

    /// The rule's template (but for a webhook rule) and webhooks exist in its tenant.
    func requireReferences(of record: RuleRecord, on database: any SQLDatabase) async throws {
        if record.channel != "webhook",
            try await Self.loadTemplate(record.template, tenant: record.tenantID, on: database) == nil
        {
            throw ServiceError.unprocessable(field: "template", problem: "names no template of the tenant")
        }
        for (index, recipient) in record.recipients.enumerated() {
            guard case .webhook(let id) = recipient else { continue }
            guard try await WebhookDirectory.load(id, tenant: record.tenantID, on: database) != nil else {
                throw ServiceError.unprocessable(
                    field: "recipients[\(index)].webhook_id", problem: "names no webhook of the tenant")
            }
        }
    }

    public func rule(_ publicID: String, tenantID: String) async throws -> RuleRecord {
        let found = try await withDefaults(tenantID) { database in
            (try await Self.loadRule(publicID, tenant: tenantID, on: database), [])
        }
        guard let found else { throw ServiceError.notFound("notification rule") }
        return found
    }

    public func rules(tenantID: String, after: Int64?, limit: Int) async throws -> [RuleRecord] {
        try await withDefaults(tenantID) { database in
            let rows = try await database.raw(
                """
                SELECT \(unsafeRaw: RuleRecord.columns) FROM notification_rules WHERE tenant_id = \(bind: tenantID)
                AND deleted_at IS NULL AND id > \(bind: after ?? 0) ORDER BY id LIMIT \(bind: limit)
                """
            ).all().map(RuleRecord.init(row:))
            return (rows, [])
        }
    }

    public enum RuleChange: Sendable {
        case update(RuleInput)
        case delete
    }

    @discardableResult
    public func changeRule(_ publicID: String, _ change: RuleChange, expectedVersion: Int64?, caller: Caller)
        async throws -> RuleRecord
    {
        let tenant = caller.principal.tenantID
        let now = EventTimestamp.now().rfc3339
        return try await withDefaults(tenant) { database in
            guard var record = try await Self.loadRule(publicID, tenant: tenant, on: database) else {
                throw ServiceError.notFound("notification rule")
            }
            if let expectedVersion, expectedVersion != record.version {
                throw ServiceError.versionMismatch(current: record.version)
            }
            let verb: EventVerb
            switch change {
            case .update(let input):
                let wasEnabled = record.enabled
                try apply(input, to: &record)
                if input.template != nil || input.channel != nil || input.recipients != nil {
                    try await requireReferences(of: record, on: database)
                }
                verb =
                    input.setsOnlyEnabled && wasEnabled != record.enabled
                    ? (record.enabled ? .enabled : .disabled) : .updated
            case .delete:
                verb = .deleted
            }
            record.version += 1
            record.updatedAt = now
            try await database.raw(
                """
                UPDATE notification_rules SET name = \(bind: record.name), event_types = \(bind: record.eventTypesText),
                channel = \(bind: record.channel), template_key = \(bind: record.template),
                recipients = \(bind: record.recipientsText), locale = \(bind: record.locale),
                changed_fields = \(bind: record.changedText), enabled = \(bind: record.enabled),
                version = \(bind: record.version), updated_at = \(bind: now),
                deleted_at = \(bind: verb == .deleted ? now : nil) WHERE id = \(bind: record.id)
                """
            ).run()
            return (record, [ruleEvent(verb, record, caller: caller)])
        }
    }

    func insert(_ record: RuleRecord, on database: any SQLDatabase) async throws -> RuleRecord {
        let row = try await database.raw(
            """
            INSERT INTO notification_rules (public_id, tenant_id, name, event_types, channel, template_key, recipients,
            locale, changed_fields, enabled, version, created_at, updated_at)
            VALUES (\(bind: record.publicID), \(bind: record.tenantID), \(bind: record.name),
            \(bind: record.eventTypesText), \(bind: record.channel), \(bind: record.template),
            \(bind: record.recipientsText), \(bind: record.locale), \(bind: record.changedText),
            \(bind: record.enabled), \(bind: record.version), \(bind: record.createdAt), \(bind: record.updatedAt))
            RETURNING \(unsafeRaw: RuleRecord.columns)
            """
        ).first()
        return try RuleRecord(row: row!)
    }

    static func loadRule(_ publicID: String, tenant: String, on database: any SQLDatabase) async throws -> RuleRecord? {
        try await database.raw(
            """
            SELECT \(unsafeRaw: RuleRecord.columns) FROM notification_rules
            WHERE public_id = \(bind: publicID) AND tenant_id = \(bind: tenant) AND deleted_at IS NULL
            """
        ).first().map(RuleRecord.init(row:))
    }

    /// The enabled rules of these tenants, for matching events.
    func enabledRules(tenants: Set<String>, on database: any SQLDatabase) async throws -> [RuleRecord] {
        guard !tenants.isEmpty else { return [] }
        return try await database.select().column(SQLRaw(RuleRecord.columns)).from("notification_rules")
            .where(SQLColumn("tenant_id"), .in, SQLBind.group(tenants.sorted()))
            .where(SQLColumn("enabled"), .equal, SQLLiteral.boolean(true))
            .where(SQLColumn("deleted_at"), .is, SQLLiteral.null)
            .orderBy("id")
            .all().map(RuleRecord.init(row:))
    }

    func ruleEvent(_ verb: EventVerb, _ record: RuleRecord, caller: Caller?) -> EventEnvelope {
        event(NotificationsEvents.rule(verb), payload: record.payload, ownershipID: record.publicID, caller: caller)
    }

    func event(_ type: EventType, payload: [String: JSONValue], ownershipID: String, caller: Caller?)
        -> EventEnvelope
    {
        guard let caller else { return events.systemEvent(type, payload: payload, ownershipID: ownershipID) }
        return events.event(type, payload: payload, ownershipID: ownershipID, caller: caller)
    }
}
