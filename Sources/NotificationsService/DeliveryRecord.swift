import BizEvents
import BizMail
import Foundation
import SQLKit

/// A delivery's state: waiting for its next attempt, delivered, or given up.
public enum DeliveryStatus: String, Sendable, Hashable, CaseIterable {
    case pending
    case sent
    case failed
}

/// One message to one destination, caused by one event.
public struct DeliveryRecord: Sendable, Hashable {
    public var id: Int64
    public var publicID: String
    public var tenantID: String
    public var channel: String
    public var webhookID: String?
    /// The rule that made it, and the address it goes to (email).
    public var ruleID: String?
    public var recipient: String?
    public var eventID: String
    public var eventType: String
    /// The triggering event's data subject, which the delivery's own events carry.
    public var ownershipID: String
    /// What every attempt sends.
    public var body: Data
    public var status: DeliveryStatus
    public var attemptCount: Int
    public var attemptLimit: Int
    /// Milliseconds since the epoch.
    public var nextAttemptAt: Int64
    public var lastError: String?
    public var createdAt: String
    public var updatedAt: String

    static let columns =
        "id, public_id, tenant_id, channel, webhook_id, rule_id, recipient, event_id, event_type, ownership_id, body, status, "
        + "attempt_count, attempt_limit, next_attempt_at, last_error, created_at, updated_at"

    init(row: any SQLRow) throws {
        id = try row.decode(column: "id", as: Int64.self)
        publicID = try row.decode(column: "public_id", as: String.self)
        tenantID = try row.decode(column: "tenant_id", as: String.self)
        channel = try row.decode(column: "channel", as: String.self)
        webhookID = try row.decode(column: "webhook_id", as: String?.self)
        ruleID = try row.decode(column: "rule_id", as: String?.self)
        recipient = try row.decode(column: "recipient", as: String?.self)
        eventID = try row.decode(column: "event_id", as: String.self)
        eventType = try row.decode(column: "event_type", as: String.self)
        ownershipID = try row.decode(column: "ownership_id", as: String.self)
        body = try row.decode(column: "body", as: Data.self)
        status = DeliveryStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .failed
        attemptCount = try row.decode(column: "attempt_count", as: Int.self)
        attemptLimit = try row.decode(column: "attempt_limit", as: Int.self)
        nextAttemptAt = try row.decode(column: "next_attempt_at", as: Int64.self)
        lastError = try row.decode(column: "last_error", as: String?.self)
        createdAt = try row.decode(column: "created_at", as: String.self)
        updatedAt = try row.decode(column: "updated_at", as: String.self)
    }

    /// What `notification.sent` / `notification.failed` carry: the delivery (its recipient masked), never its body
    /// or a secret.
    func payload(responseCode: Int) -> [String: JSONValue] {
        [
            "id": .integer(id), "public_id": .string(publicID), "tenant_id": .string(tenantID),
            "channel": .string(channel), "webhook_id": webhookID.map(JSONValue.string) ?? .null,
            "rule_id": ruleID.map(JSONValue.string) ?? .null,
            "recipient": recipient.map { .string(MailMask.address($0)) } ?? .null,
            "event_id": .string(eventID), "event_type": .string(eventType), "status": .string(status.rawValue),
            "attempt_count": .integer(Int64(attemptCount)), "response_code": .integer(Int64(responseCode)),
            "error": lastError.map(JSONValue.string) ?? .null, "created_at": .string(createdAt),
            "updated_at": .string(updatedAt),
        ]
    }
}

/// One attempt of a delivery.
public struct DeliveryAttempt: Sendable, Hashable {
    public var number: Int
    public var startedAt: String
    public var durationMilliseconds: Int64
    /// The HTTP status; 0 without an answer.
    public var responseCode: Int
    public var outcome: String
    public var error: String?

    init(row: any SQLRow) throws {
        number = try row.decode(column: "number", as: Int.self)
        startedAt = try row.decode(column: "started_at", as: String.self)
        durationMilliseconds = try row.decode(column: "duration_ms", as: Int64.self)
        responseCode = try row.decode(column: "response_code", as: Int.self)
        outcome = try row.decode(column: "outcome", as: String.self)
        error = try row.decode(column: "error", as: String?.self)
    }
}

/// A delivery to make, as an event's consumer finds it.
struct NewDelivery: Sendable, Hashable {
    var tenantID: String
    /// Unique per event and destination: a redelivered event finds its deliveries made.
    var dedupeKey: String
    var channel: String
    var webhookID: String?
    var ruleID: String?
    var recipient: String?
    var eventID: String
    var eventType: String
    var ownershipID: String
    var body: Data
}
