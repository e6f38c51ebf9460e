import BizAuth
import BizEvents
import BizMail
import BizServiceKit
import Foundation
import SQLKit

/// Who receives a rule's message.
public enum Recipient: Sendable, Hashable {
    /// A fixed address.
    case address(String)
    /// The address in the event's own payload (`email` by default): the person the event is about.
    case subjectEmail(field: String)
    /// The contact of the tenant's client contractor.
    case contractorContact
    /// Every enabled user of the tenant with the role.
    case role(String)
    /// One user of the tenant (by public id).
    case user(String)
    /// One of the tenant's webhooks (by public id): it is sent the event as its subscriptions are.
    case webhook(String)

    /// Whether it names people by user (which in-app notifications need), not only by address.
    var reachesUsers: Bool {
        switch self {
        case .role, .user: true
        case .address, .subjectEmail, .contractorContact, .webhook: false
        }
    }

    var json: JSONValue {
        switch self {
        case .address(let address): ["type": "address", "address": .string(address)]
        case .subjectEmail(let field): ["type": "subject_email", "field": .string(field)]
        case .contractorContact: ["type": "contractor_contact"]
        case .role(let role): ["type": "role", "role": .string(role)]
        case .user(let user): ["type": "user", "user_id": .string(user)]
        case .webhook(let webhook): ["type": "webhook", "webhook_id": .string(webhook)]
        }
    }

    /// The kinds, as the API names them.
    public static let kinds = ["address", "subject_email", "contractor_contact", "role", "user", "webhook"]

    /// One recipient of a request, checked; `field` is its place (`recipients[0]`).
    public static func checked(
        type: String, address: String?, field: String?, role: String?, userID: String? = nil,
        webhookID: String? = nil, at place: String
    ) throws(ServiceError) -> Recipient {
        switch type {
        case "webhook":
            guard let webhook = webhookID, !webhook.isEmpty else {
                throw .invalidArgument(field: place + ".webhook_id", problem: "is required")
            }
            guard let id = UUID(uuidString: webhook) else {
                throw .invalidArgument(field: place + ".webhook_id", problem: "must be a webhook's public_id (a UUID)")
            }
            return .webhook(id.uuidString.lowercased())
        case "user":
            guard let user = userID, !user.isEmpty else {
                throw .invalidArgument(field: place + ".user_id", problem: "is required")
            }
            guard let id = UUID(uuidString: user) else {
                throw .invalidArgument(field: place + ".user_id", problem: "must be a user's public_id (a UUID)")
            }
            return .user(id.uuidString.lowercased())
        case "address":
            guard let text = address, !text.isEmpty else {
                throw .invalidArgument(field: place + ".address", problem: "is required")
            }
            // An address the API's pattern allows may still be one no SMTP envelope can carry.
            guard let normalized = EmailAddress.normalize(text), Mailbox(normalized).isValid else {
                throw .unprocessable(field: place + ".address", problem: "is not an email address mail can go to")
            }
            return .address(normalized)
        case "subject_email":
            let name = (field ?? "").isEmpty ? "email" : field!
            guard name.utf8.count <= 64, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") })
            else {
                throw .invalidArgument(field: place + ".field", problem: "must be a payload field name")
            }
            return .subjectEmail(field: name)
        case "contractor_contact":
            return .contractorContact
        case "role":
            guard let name = role, !name.isEmpty else {
                throw .invalidArgument(field: place + ".role", problem: "is required")
            }
            guard name.utf8.count <= 64, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") })
            else {
                throw .invalidArgument(field: place + ".role", problem: "must be a role name (letters, digits, '_')")
            }
            return .role(name)
        default:
            throw .invalidArgument(field: place + ".type", problem: "must be one of \(kinds.joined(separator: ", "))")
        }
    }

    init?(json: JSONValue) {
        switch json["type"]?.stringValue {
        case "address": self = .address(json["address"]?.stringValue ?? "")
        case "subject_email": self = .subjectEmail(field: json["field"]?.stringValue ?? "email")
        case "contractor_contact": self = .contractorContact
        case "role": self = .role(json["role"]?.stringValue ?? "")
        case "user": self = .user(json["user_id"]?.stringValue ?? "")
        case "webhook": self = .webhook(json["webhook_id"]?.stringValue ?? "")
        default: return nil
        }
    }
}

/// A tenant's rule: events of these types send this template on this channel to these recipients.
public struct RuleRecord: Sendable, Hashable {
    public var id: Int64
    public var publicID: String
    public var tenantID: String
    public var name: String
    public var eventTypes: [EventPattern]
    /// `email`, `in_app`, or `webhook` (its recipients are webhooks; it has no template).
    public var channel: String
    public var template: String
    public var recipients: [Recipient]
    /// The locale to render in.
    public var locale: String
    /// Payload fields of which one must have changed since the entity's last event the service saw (for an update
    /// to fire the rule); empty: every matching event fires it.
    public var changed: [String]
    public var enabled: Bool
    public var version: Int64
    public var createdAt: String
    public var updatedAt: String

    public static let channels = ["email", "in_app", "webhook"]

    static let columns =
        "id, public_id, tenant_id, name, event_types, channel, template_key, recipients, locale, changed_fields, "
        + "enabled, version, created_at, updated_at"

    init(
        publicID: String, tenantID: String, name: String, eventTypes: [EventPattern], channel: String,
        template: String, recipients: [Recipient], locale: String, changed: [String], enabled: Bool, now: String
    ) {
        id = 0
        self.publicID = publicID
        self.tenantID = tenantID
        self.name = name
        self.eventTypes = eventTypes
        self.channel = channel
        self.template = template
        self.recipients = recipients
        self.locale = locale
        self.changed = changed
        self.enabled = enabled
        version = 1
        createdAt = now
        updatedAt = now
    }

    init(row: any SQLRow) throws {
        func list(_ column: String) throws -> [JSONValue] {
            let text = try row.decode(column: column, as: String.self)
            return (try? JSONParser.parse(Array(text.utf8)))?.arrayValue ?? []
        }
        self.init(
            publicID: try row.decode(column: "public_id", as: String.self),
            tenantID: try row.decode(column: "tenant_id", as: String.self),
            name: try row.decode(column: "name", as: String.self),
            eventTypes: try list("event_types").compactMap { $0.stringValue.flatMap { try? EventPattern($0) } },
            channel: try row.decode(column: "channel", as: String.self),
            template: try row.decode(column: "template_key", as: String.self),
            recipients: try list("recipients").compactMap(Recipient.init(json:)),
            locale: try row.decode(column: "locale", as: String.self),
            changed: try list("changed_fields").compactMap(\.stringValue),
            enabled: try row.decode(column: "enabled", as: Bool.self),
            now: try row.decode(column: "created_at", as: String.self))
        id = try row.decode(column: "id", as: Int64.self)
        version = try row.decode(column: "version", as: Int64.self)
        updatedAt = try row.decode(column: "updated_at", as: String.self)
    }

    var eventTypesText: String { Self.text(.array(eventTypes.map { .string($0.text) })) }
    var recipientsText: String { Self.text(.array(recipients.map(\.json))) }
    var changedText: String { Self.text(.array(changed.map(JSONValue.string))) }

    static func text(_ value: JSONValue) -> String { String(decoding: value.canonicalBytes(), as: UTF8.self) }

    public func matches(_ eventType: String) -> Bool { eventTypes.contains { $0.matches(eventType) } }

    /// Whether some of the rule's types are of `entity`.
    func watches(entity: String) -> Bool {
        eventTypes.contains { $0.text == "*" || $0.text.hasPrefix(entity + ".") }
    }

    /// Whether the rule existed when `event` happened (a redelivery of the past is not sent to a newer rule).
    func createdBefore(_ event: EventEnvelope) -> Bool {
        guard let created = EventTimestamp(rfc3339: createdAt) else { return true }
        return created <= event.timestamp
    }

    var payload: [String: JSONValue] {
        [
            "id": .integer(id), "public_id": .string(publicID), "tenant_id": .string(tenantID), "name": .string(name),
            "event_types": .array(eventTypes.map { .string($0.text) }), "channel": .string(channel),
            "template": .string(template), "recipients": .array(recipients.map(\.json)), "locale": .string(locale),
            "changed": .array(changed.map(JSONValue.string)), "enabled": .bool(enabled), "version": .integer(version),
            "created_at": .string(createdAt), "updated_at": .string(updatedAt),
        ]
    }

    /// The changed-field condition checked: payload field names, at most 20.
    static func checkedChanged(_ fields: [String]) throws(ServiceError) -> [String] {
        guard fields.count <= 20 else {
            throw .invalidArgument(field: "changed", problem: "may name at most 20 fields")
        }
        for field in fields
        where field.isEmpty || field.utf8.count > 64
            || !field.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") })
        {
            throw .invalidArgument(field: "changed", problem: "must name payload fields")
        }
        return Array(Set(fields)).sorted()
    }
}
