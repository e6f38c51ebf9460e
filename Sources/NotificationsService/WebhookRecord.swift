import BizEvents
import BizServiceKit
import Foundation
import SQLKit

/// What a webhook subscribes to: an event type (`account.created`), an entity's every type (`account.*`), or every
/// type (`*`, but the service's own configuration, `webhook.*`, `notification_rule.*` and
/// `notification_template.*`, which must be named). Deliveries' events (`notification.*`) never
/// match: a delivery's `notification.sent` would otherwise cause another delivery, and so on.
public struct EventPattern: Sendable, Hashable, CustomStringConvertible {
    public let text: String

    public init(_ text: String) throws(ServiceError) {
        let text = text.trimmingCharacters(in: .whitespaces).lowercased()
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        let word: (Substring) -> Bool = { part in
            !part.isEmpty && part.count <= 64
                && part.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") }
        }
        let valid =
            text == "*" || (parts.count == 2 && word(parts[0]) && (parts[1] == "*" || word(parts[1])))
        guard valid else {
            throw .invalidArgument(
                field: "event_types", problem: "must hold event types (`account.created`), `entity.*` or `*`")
        }
        guard parts.first != Substring(NotificationsEvents.entity) else {
            throw .unprocessable(
                field: "event_types", problem: "may not name notification events: they never trigger deliveries")
        }
        self.text = text
    }

    public func matches(_ eventType: String) -> Bool {
        guard !eventType.hasPrefix(NotificationsEvents.entity + ".") else { return false }
        // The service's own configuration changes only when named.
        if text == "*" {
            let entity = eventType.split(separator: ".", maxSplits: 1).first.map(String.init) ?? eventType
            return !NotificationsEvents.configurationEntities.contains(entity)
        }
        if text.hasSuffix(".*") { return eventType.hasPrefix(text.dropLast()) }
        return eventType == text
    }

    public var description: String { text }

    /// A request's list: at least one, at most 100, without duplicates (kept in the given order).
    static func list(_ texts: [String]) throws(ServiceError) -> [EventPattern] {
        guard !texts.isEmpty else {
            throw .invalidArgument(field: "event_types", problem: "must name at least one event type")
        }
        guard texts.count <= 100 else {
            throw .invalidArgument(field: "event_types", problem: "may hold at most 100 event types")
        }
        var patterns: [EventPattern] = []
        for text in texts {
            let pattern = try EventPattern(text)
            if !patterns.contains(pattern) { patterns.append(pattern) }
        }
        return patterns
    }
}

/// A webhook subscription, as stored (its secrets still sealed) and as its events carry it (without them).
public struct WebhookRecord: Sendable, Hashable {
    public var id: Int64
    public var publicID: String
    public var tenantID: String
    public var url: String
    public var eventTypes: [EventPattern]
    public var sealedSecret: Data
    public var sealedPreviousSecret: Data?
    /// Milliseconds since the epoch.
    public var previousSecretUntil: Int64?
    public var enabled: Bool
    public var disabledReason: String?
    public var version: Int64
    public var createdAt: String
    public var updatedAt: String

    var payload: [String: JSONValue] {
        [
            "id": .integer(id), "public_id": .string(publicID), "tenant_id": .string(tenantID), "url": .string(url),
            "event_types": .array(eventTypes.map { .string($0.text) }), "enabled": .bool(enabled),
            "status": .string(enabled ? "active" : "disabled"),
            "disabled_reason": disabledReason.map(JSONValue.string) ?? .null, "version": .integer(version),
            "created_at": .string(createdAt), "updated_at": .string(updatedAt),
        ]
    }

    public func matches(_ eventType: String) -> Bool { eventTypes.contains { $0.matches(eventType) } }

    /// Whether the webhook existed when `event` happened.
    func createdBefore(_ event: EventEnvelope) -> Bool {
        guard let created = EventTimestamp(rfc3339: createdAt) else { return true }
        return created <= event.timestamp
    }

    static let columns =
        "id, public_id, tenant_id, url, event_types, secret, previous_secret, previous_secret_until, enabled, "
        + "disabled_reason, version, created_at, updated_at"

    init(
        publicID: String, tenantID: String, url: String, eventTypes: [EventPattern], sealedSecret: Data,
        enabled: Bool, now: String
    ) {
        id = 0
        self.publicID = publicID
        self.tenantID = tenantID
        self.url = url
        self.eventTypes = eventTypes
        self.sealedSecret = sealedSecret
        sealedPreviousSecret = nil
        previousSecretUntil = nil
        self.enabled = enabled
        disabledReason = nil
        version = 1
        createdAt = now
        updatedAt = now
    }

    init(row: any SQLRow) throws {
        let types = try row.decode(column: "event_types", as: String.self)
        let texts = (try? JSONParser.parse(Array(types.utf8)))?.arrayValue?.compactMap(\.stringValue) ?? []
        self.init(
            publicID: try row.decode(column: "public_id", as: String.self),
            tenantID: try row.decode(column: "tenant_id", as: String.self),
            url: try row.decode(column: "url", as: String.self),
            eventTypes: texts.compactMap { try? EventPattern($0) },
            sealedSecret: try row.decode(column: "secret", as: Data.self),
            enabled: try row.decode(column: "enabled", as: Bool.self),
            now: try row.decode(column: "created_at", as: String.self))
        id = try row.decode(column: "id", as: Int64.self)
        sealedPreviousSecret = try row.decode(column: "previous_secret", as: Data?.self)
        previousSecretUntil = try row.decode(column: "previous_secret_until", as: Int64?.self)
        disabledReason = try row.decode(column: "disabled_reason", as: String?.self)
        version = try row.decode(column: "version", as: Int64.self)
        updatedAt = try row.decode(column: "updated_at", as: String.self)
    }

    /// The stored form of ``eventTypes``: a JSON array of strings.
    var eventTypesText: String {
        RuleRecord.text(.array(eventTypes.map { .string($0.text) }))
    }
}
