#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Why an event was refused: every missing or malformed mandatory field, by name.
///
/// Messages name fields and rules, never the values sent, so personal data cannot leak into logs.
public struct EnvelopeValidationError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Issue: Sendable, Hashable, CustomStringConvertible {
        /// The field's path (`metadata.owner_ip`), or `body` for problems with the whole event.
        public var field: String
        public var problem: String

        public init(field: String, problem: String) {
            self.field = field
            self.problem = problem
        }

        public var description: String { "\(field) \(problem)" }
    }

    public var issues: [Issue]

    public init(issues: [Issue]) { self.issues = issues }

    public var fields: [String] { issues.map(\.field) }

    public var description: String {
        "invalid event: " + issues.map(\.description).joined(separator: "; ")
    }
}

extension EventEnvelope {
    /// Events larger than this are refused (128 KiB): well under the smallest limit on their way, DynamoDB's 400 KB
    /// per item (Kafka's default is 1,000,000 bytes per record). The services' field limits keep their own events
    /// far below it.
    public static let maximumEncodedSize = 128 * 1024

    public struct DecodingOptions: Sendable {
        public var registry: EventTypeRegistry
        /// Give an event without `event_id` a fresh one instead of refusing it (operator publishing).
        public var assignsMissingEventID: Bool

        public init(registry: EventTypeRegistry = .standard, assignsMissingEventID: Bool = false) {
            self.registry = registry
            self.assignsMissingEventID = assignsMissingEventID
        }
    }

    /// Parses and validates an envelope from JSON bytes.
    ///
    /// Accepts the brief's `user_id`/`user_role`/`user_ip` as aliases of `owner_*` (then `owner_type` defaults to
    /// `user`). Throws one error listing every problem found.
    public static func decode(
        _ bytes: some Collection<UInt8>, options: DecodingOptions = .init()
    ) throws(EnvelopeValidationError) -> EventEnvelope {
        guard bytes.count <= maximumEncodedSize else {
            throw EnvelopeValidationError(issues: [
                .init(field: "body", problem: "is \(bytes.count) bytes, over the limit of \(maximumEncodedSize) bytes")
            ])
        }
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            throw EnvelopeValidationError(issues: [.init(field: "body", problem: "is not valid JSON (\(error))")])
        }
        return try decode(json: value, options: options)
    }

    public static func decode(
        json value: JSONValue, options: DecodingOptions = .init()
    ) throws(EnvelopeValidationError) -> EventEnvelope {
        guard case .object(let object) = value else {
            throw EnvelopeValidationError(issues: [
                .init(field: "body", problem: "must be a JSON object, not \(value.typeName)")
            ])
        }
        var fields = FieldReader(issues: [])

        var eventID = fields.string(object, "event_id", required: !options.assignsMissingEventID) { id in
            EventID.isUUID(id) ? nil : "must be a UUID"
        }
        if eventID == nil, object["event_id"] == nil, options.assignsMissingEventID { eventID = EventID.generate() }
        let producerService = fields.string(object, "producer_service", rule: FieldReader.shortText)
        let producerServiceID = fields.string(object, "producer_service_id", rule: FieldReader.shortText)
        let traceID = fields.string(object, "trace_id") { id in
            isTraceID(id) ? nil : "must be a W3C trace id (32 hex digits) or a UUID"
        }
        var timestamp: EventTimestamp?
        _ = fields.string(object, "timestamp") { text in
            timestamp = EventTimestamp(rfc3339: text)
            return timestamp == nil ? "must be an RFC 3339 date-time" : nil
        }
        var eventType: EventType?
        _ = fields.string(object, "event_type") { text in
            guard let parsed = EventType(text) else { return "must look like 'entity.verb' (lowercase)" }
            guard options.registry.action(for: parsed) != nil else {
                return "has an unknown verb '\(parsed.verb)'"
            }
            eventType = parsed
            return nil
        }
        let payload = fields.object(object, "payload")
        if let payload {
            _ = fields.string(payload, "public_id", path: "payload.public_id", rule: FieldReader.shortText)
        }
        let metadata = fields.object(object, "metadata")
        var decodedMetadata: EventMetadata?
        if let metadata {
            decodedMetadata = decodeMetadata(metadata, fields: &fields)
        }

        guard fields.issues.isEmpty, let eventID, let producerService, let producerServiceID, let traceID,
            let timestamp, let eventType, let payload, let decodedMetadata
        else { throw EnvelopeValidationError(issues: fields.issues) }
        return EventEnvelope(
            eventID: eventID.lowercased(), producerService: producerService, producerServiceID: producerServiceID,
            traceID: traceID, timestamp: timestamp, eventType: eventType, payload: payload, metadata: decodedMetadata
        )
    }

    private static func decodeMetadata(_ metadata: [String: JSONValue], fields: inout FieldReader) -> EventMetadata? {
        var extra = metadata
        func aliased(_ name: String, _ alias: String, rule: (String) -> String?) -> String? {
            extra[name] = nil
            extra[alias] = nil
            let key = metadata[name] == nil && metadata[alias] != nil ? alias : name
            return fields.string(metadata, key, path: "metadata.\(key)", rule: rule)
        }
        let usesAliases = ["user_id", "user_role", "user_ip"].contains { metadata[$0] != nil }
        let ownerID = aliased("owner_id", "user_id", rule: FieldReader.shortText)
        let ownerIP = aliased("owner_ip", "user_ip") { isIPAddress($0) ? nil : "must be an IPv4 or IPv6 address" }
        let ownerRole = aliased("owner_role", "user_role", rule: FieldReader.shortText)
        extra["owner_type"] = nil
        var ownerType: OwnerType? = usesAliases && metadata["owner_type"] == nil ? .user : nil
        if ownerType == nil {
            _ = fields.string(metadata, "owner_type", path: "metadata.owner_type") { text in
                ownerType = OwnerType(rawValue: text)
                return ownerType == nil ? "must be 'user' or 'service'" : nil
            }
        }
        func field(_ name: String, required: Bool = true, rule: (String) -> String?) -> String? {
            extra[name] = nil
            return fields.string(metadata, name, path: "metadata.\(name)", required: required, rule: rule)
        }
        let schemaVersion = field("event_schema_version") { isSchemaVersion($0) ? nil : "must look like '1.0'" }
        let ownershipID = field("ownership_id") { EventID.isUUID($0) ? nil : "must be a UUID" }
        // Not among the brief's mandatory metadata (only its example has it): optional, checked when present.
        let environment = field("environment", required: false, rule: FieldReader.shortText)
        let tenantID = field("tenant_id", required: false, rule: FieldReader.shortText)
        guard let ownerID, let ownerIP, let ownerRole, let ownerType, let schemaVersion, let ownershipID else {
            return nil
        }
        return EventMetadata(
            ownerID: ownerID, ownerIP: ownerIP, ownerRole: ownerRole, ownerType: ownerType,
            eventSchemaVersion: schemaVersion, ownershipID: ownershipID.lowercased(), environment: environment,
            tenantID: tenantID, extra: extra
        )
    }

    static func isTraceID(_ text: String) -> Bool {
        if EventID.isUUID(text) { return true }
        let utf8 = text.utf8
        return utf8.count == 32 && utf8.allSatisfy(EventID.isHexDigit) && utf8.contains { $0 != UInt8(ascii: "0") }
    }

    static func isSchemaVersion(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 2
            && parts.allSatisfy {
                !$0.isEmpty && $0.count <= 4 && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber)
            }
    }

    public static func isIPAddress(_ text: String) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 16)
        if inet_pton(AF_INET, text, &buffer) == 1 { return true }
        return inet_pton(AF_INET6, text, &buffer) == 1
    }
}

/// Collects issues while reading fields, so one pass reports every problem.
private struct FieldReader {
    var issues: [EnvelopeValidationError.Issue]

    static func shortText(_ text: String) -> String? {
        if text.isEmpty { return "must not be empty" }
        if text.utf8.count > 256 { return "must be at most 256 bytes" }
        // Control characters (NUL above all: PostgreSQL cannot store it in text) have no place in an identifier.
        return text.containsControlCharacter()
            ? "must not contain control characters" : nil
    }

    mutating func string(
        _ object: [String: JSONValue], _ name: String, path: String? = nil, required: Bool = true,
        rule: (String) -> String?
    ) -> String? {
        let path = path ?? name
        switch object[name] {
        case .none:
            if required { issues.append(.init(field: path, problem: "is missing")) }
            return nil
        case .string(let text):
            if let problem = rule(text) {
                issues.append(.init(field: path, problem: problem))
                return nil
            }
            return text
        case .some(let other):
            issues.append(.init(field: path, problem: "must be a string, not \(other.typeName)"))
            return nil
        }
    }

    mutating func object(_ object: [String: JSONValue], _ name: String) -> [String: JSONValue]? {
        switch object[name] {
        case .none:
            issues.append(.init(field: name, problem: "is missing"))
            return nil
        case .object(let value):
            return value
        case .some(let other):
            issues.append(.init(field: name, problem: "must be an object, not \(other.typeName)"))
            return nil
        }
    }
}
