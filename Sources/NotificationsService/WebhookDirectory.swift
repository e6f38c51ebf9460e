import BizAuth
import BizEvents
import BizOutbox
import BizServiceKit
import BizStorage
import Foundation
import SQLKit

/// The webhook subscriptions of each tenant. Every change writes the row and its event (without the secret) in one
/// transaction. The signing secret is sealed with the master key, answered once when made, and never logged.
public struct WebhookDirectory: Sendable {
    public var outbox: Outbox
    public var events: EventFactory
    public var masterKey: MasterKey
    public var policy: DestinationPolicy

    /// How long a rotated-out secret keeps signing beside the new one.
    public static let rotationGrace: Int64 = 24 * 3_600_000

    public init(outbox: Outbox, events: EventFactory, masterKey: MasterKey, policy: DestinationPolicy) {
        self.outbox = outbox
        self.events = events
        self.masterKey = masterKey
        self.policy = policy
    }

    var store: any SQLStore { outbox.store }

    /// The URL, checked as the request gives it and where it resolves now.
    func checkedURL(_ text: String) async throws -> WebhookURL {
        let url = try WebhookURL(text, policy: policy)
        do {
            _ = try await url.checkedAddresses(policy: policy)
        } catch {
            throw ServiceError.unprocessable(field: "url", problem: error.problem)
        }
        return url
    }

    public func create(url: String, eventTypes: [String], enabled: Bool, caller: Caller) async throws
        -> (WebhookRecord, WebhookSecret)
    {
        let patterns = try EventPattern.list(eventTypes)
        let url = try await checkedURL(url)
        let secret = WebhookSecret.generate()
        let record = WebhookRecord(
            publicID: EventID.generate(), tenantID: caller.principal.tenantID, url: url.text, eventTypes: patterns,
            sealedSecret: try seal(secret), enabled: enabled, now: EventTimestamp.now().rfc3339)
        let stored = try await outbox.perform { database in
            let row = try await database.raw(
                """
                INSERT INTO webhooks (public_id, tenant_id, url, event_types, secret, enabled, version, created_at,
                updated_at) VALUES (\(bind: record.publicID), \(bind: record.tenantID), \(bind: record.url),
                \(bind: record.eventTypesText), \(bind: record.sealedSecret), \(bind: record.enabled), 1,
                \(bind: record.createdAt), \(bind: record.updatedAt))
                RETURNING \(unsafeRaw: WebhookRecord.columns)
                """
            ).first()
            let stored = try WebhookRecord(row: row!)
            return (stored, [event(.created, stored, caller: caller)])
        }
        return (stored, secret)
    }

    public func webhook(_ publicID: String, tenantID: String) async throws -> WebhookRecord {
        let record = try await store.read { database in
            try await Self.load(publicID, tenant: tenantID, on: database)
        }
        guard let record else { throw ServiceError.notFound("webhook") }
        return record
    }

    public func webhooks(tenantID: String, after: Int64?, limit: Int) async throws -> [WebhookRecord] {
        try await store.read { database in
            try await database.raw(
                """
                SELECT \(unsafeRaw: WebhookRecord.columns) FROM webhooks WHERE tenant_id = \(bind: tenantID)
                AND deleted_at IS NULL AND id > \(bind: after ?? 0) ORDER BY id LIMIT \(bind: limit)
                """
            ).all().map(WebhookRecord.init(row:))
        }
    }

    /// The enabled webhooks of these tenants, for matching events.
    func subscribers(tenants: Set<String>, on database: any SQLDatabase) async throws -> [WebhookRecord] {
        guard !tenants.isEmpty else { return [] }
        return try await database.select().column(SQLRaw(WebhookRecord.columns)).from("webhooks")
            .where(SQLColumn("tenant_id"), .in, SQLBind.group(tenants.sorted()))
            .where(SQLColumn("enabled"), .equal, SQLLiteral.boolean(true))
            .where(SQLColumn("deleted_at"), .is, SQLLiteral.null)
            .all().map(WebhookRecord.init(row:))
    }

    public enum Change: Sendable {
        case update(url: String?, eventTypes: [String]?, enabled: Bool?)
        case rotateSecret
        case delete
        /// The endpoint answered 410 Gone: the platform disables it.
        case gone(reason: String)
    }

    /// Applies `change` to a webhook of `tenantID`; a rotation also answers the new secret. `caller` is nil when
    /// the service acts on its own (the event is then its account's).
    @discardableResult
    public func change(
        _ publicID: String, _ change: Change, expectedVersion: Int64? = nil, tenantID: String, caller: Caller?
    ) async throws -> (WebhookRecord, WebhookSecret?) {
        var checking: (url: WebhookURL?, patterns: [EventPattern]?) = (nil, nil)
        if case .update(let url, let eventTypes, _) = change {
            if let eventTypes { checking.patterns = try EventPattern.list(eventTypes) }
            if let url { checking.url = try await self.checkedURL(url) }
        }
        let (checkedURL, patterns) = checking
        let newSecret: WebhookSecret? = if case .rotateSecret = change { WebhookSecret.generate() } else { nil }
        let sealedNew = try newSecret.map(seal)
        let tenant = tenantID
        let now = EventTimestamp.now()
        return try await outbox.perform { database in
            guard var record = try await Self.load(publicID, tenant: tenant, on: database) else {
                throw ServiceError.notFound("webhook")
            }
            if let expectedVersion, expectedVersion != record.version {
                throw ServiceError.versionMismatch(current: record.version)
            }
            let verb: EventVerb
            switch change {
            case .update(_, _, let enabled):
                if let checkedURL { record.url = checkedURL.text }
                if let patterns { record.eventTypes = patterns }
                let wasEnabled = record.enabled
                if let enabled {
                    record.enabled = enabled
                    if enabled { record.disabledReason = nil }
                }
                verb =
                    checkedURL == nil && patterns == nil && wasEnabled != record.enabled
                    ? (record.enabled ? .enabled : .disabled) : .updated
            case .rotateSecret:
                record.sealedPreviousSecret = record.sealedSecret
                record.previousSecretUntil = now.millisecondsSinceEpoch + Self.rotationGrace
                record.sealedSecret = sealedNew!
                verb = .secretRotated
            case .delete:
                verb = .deleted
            case .gone(let reason):
                guard record.enabled else { return ((record, nil), []) }
                record.enabled = false
                record.disabledReason = reason
                verb = .disabled
            }
            record.version += 1
            record.updatedAt = now.rfc3339
            try await database.raw(
                """
                UPDATE webhooks SET url = \(bind: record.url), event_types = \(bind: record.eventTypesText),
                secret = \(bind: record.sealedSecret), previous_secret = \(bind: record.sealedPreviousSecret),
                previous_secret_until = \(bind: record.previousSecretUntil), enabled = \(bind: record.enabled),
                disabled_reason = \(bind: record.disabledReason), version = \(bind: record.version),
                updated_at = \(bind: record.updatedAt), deleted_at = \(bind: verb == .deleted ? now.rfc3339 : nil)
                WHERE id = \(bind: record.id)
                """
            ).run()
            return ((record, newSecret), [event(verb, record, caller: caller)])
        }
    }

    /// The secrets that sign a message to `record` now: the current one, and the previous one during its grace.
    func signingSecrets(of record: WebhookRecord, now: Int64) throws -> [WebhookSecret] {
        var sealed = [record.sealedSecret]
        if let previous = record.sealedPreviousSecret, let until = record.previousSecretUntil, now < until {
            sealed.append(previous)
        }
        return try sealed.map { box in
            guard let secret = WebhookSecret(String(decoding: try masterKey.open(box), as: UTF8.self)) else {
                throw NotificationsError.unreadableSecret
            }
            return secret
        }
    }

    func seal(_ secret: WebhookSecret) throws -> Data { try masterKey.seal(Data(secret.text.utf8)) }

    func event(_ verb: EventVerb, _ record: WebhookRecord, caller: Caller?) -> EventEnvelope {
        guard let caller else {
            return events.systemEvent(
                NotificationsEvents.webhook(verb), payload: record.payload, ownershipID: record.publicID)
        }
        return events.event(
            NotificationsEvents.webhook(verb), payload: record.payload, ownershipID: record.publicID, caller: caller)
    }

    static func load(_ publicID: String, tenant: String, on database: any SQLDatabase) async throws
        -> WebhookRecord?
    {
        try await database.raw(
            """
            SELECT \(unsafeRaw: WebhookRecord.columns) FROM webhooks
            WHERE public_id = \(bind: publicID) AND tenant_id = \(bind: tenant) AND deleted_at IS NULL
            """
        ).first().map(WebhookRecord.init(row:))
    }
}

/// The service's own failures (never a client's).
enum NotificationsError: Error, CustomStringConvertible {
    /// A stored secret the master key does not open (another key, or damage).
    case unreadableSecret

    var description: String {
        switch self {
        case .unreadableSecret: "a webhook's signing secret could not be opened with the master key"
        }
    }
}
