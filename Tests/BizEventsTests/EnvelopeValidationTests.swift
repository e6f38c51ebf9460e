import BizEvents
import BizTesting
import Testing

@Suite("Event envelope validation")
struct EnvelopeValidationTests {
    static let mandatoryFields = [
        "event_id", "producer_service", "producer_service_id", "trace_id", "timestamp", "event_type", "payload",
        "payload.public_id", "metadata", "metadata.owner_id", "metadata.owner_ip", "metadata.owner_role",
        "metadata.owner_type", "metadata.event_schema_version", "metadata.ownership_id",
    ]

    static func bytes(_ object: [String: JSONValue]) -> [UInt8] { JSONValue.object(object).canonicalBytes() }

    static func removing(_ path: String, from object: [String: JSONValue]) -> [String: JSONValue] {
        var object = object
        let parts = path.split(separator: ".").map(String.init)
        if parts.count == 1 {
            object[parts[0]] = nil
        } else {
            var inner = object[parts[0]]!.objectValue!
            inner[parts[1]] = nil
            object[parts[0]] = .object(inner)
        }
        return object
    }

    static func setting(_ path: String, to value: JSONValue, in object: [String: JSONValue]) -> [String: JSONValue] {
        var object = object
        let parts = path.split(separator: ".").map(String.init)
        if parts.count == 1 {
            object[parts[0]] = value
        } else {
            var inner = object[parts[0]]!.objectValue!
            inner[parts[1]] = value
            object[parts[0]] = .object(inner)
        }
        return object
    }

    @Test("a missing mandatory field is named in the error", arguments: mandatoryFields)
    func missingField(_ field: String) throws {
        let object = Self.removing(field, from: SampleEvents.object())
        let error = #expect(throws: EnvelopeValidationError.self) {
            try EventEnvelope.decode(Self.bytes(object))
        }
        #expect(error?.issues == [.init(field: field, problem: "is missing")])
        #expect(error?.description.contains(field) == true)
    }

    @Test("an event without metadata.environment is accepted: the brief does not list it as mandatory")
    func environmentIsOptional() throws {
        let object = Self.removing("metadata.environment", from: SampleEvents.object())
        let envelope = try EventEnvelope.decode(Self.bytes(object))
        #expect(envelope.metadata.environment == nil)
        #expect(envelope.json.objectValue?["metadata"]?.objectValue?["environment"] == nil)
    }

    static let malformed: [(String, JSONValue)] = [
        ("event_id", "not-a-uuid"), ("producer_service", ""), ("producer_service_id", 42),
        ("trace_id", "xyz"), ("timestamp", "2024-13-01T00:00:00Z"), ("event_type", "Account.Created"),
        ("payload", "text"), ("payload.public_id", ""), ("metadata", [1, 2]), ("metadata.owner_id", .null),
        ("metadata.owner_ip", "999.1.1.1"), ("metadata.owner_role", ""), ("metadata.owner_type", "robot"),
        ("metadata.event_schema_version", "v1"), ("metadata.ownership_id", "person-1"),
        ("metadata.environment", true),
    ]

    @Test("a malformed mandatory field is named in the error", arguments: malformed)
    func malformedField(_ field: String, _ value: JSONValue) throws {
        let object = Self.setting(field, to: value, in: SampleEvents.object())
        let error = #expect(throws: EnvelopeValidationError.self) {
            try EventEnvelope.decode(Self.bytes(object))
        }
        #expect(error?.fields == [field])
    }

    @Test("every problem is reported in one error")
    func everyProblemAtOnce() throws {
        var object = Self.removing("trace_id", from: SampleEvents.object())
        object = Self.setting("metadata.owner_ip", to: "nowhere", in: object)
        object = Self.removing("payload.public_id", from: object)
        let error = #expect(throws: EnvelopeValidationError.self) { try EventEnvelope.decode(Self.bytes(object)) }
        #expect(Set(error?.fields ?? []) == ["trace_id", "metadata.owner_ip", "payload.public_id"])
    }

    @Test("error messages never echo the values sent")
    func noValuesInErrors() throws {
        let object = Self.setting("metadata.owner_ip", to: "secret-123.45.678-90", in: SampleEvents.object())
        let error = #expect(throws: EnvelopeValidationError.self) { try EventEnvelope.decode(Self.bytes(object)) }
        #expect(error?.description.contains("secret") == false)
    }

    @Test("the brief's example is accepted through the user_* aliases")
    func briefExample() throws {
        let envelope = try EventEnvelope.decode(
            Array(SampleEvents.briefExample.utf8), options: .init(assignsMissingEventID: true)
        )
        #expect(envelope.eventType.description == "account.created")
        #expect(envelope.entityType == "account")
        #expect(envelope.entityID == "123e4567-e89b-12d3-a456-426614174000")
        #expect(envelope.metadata.ownerID == "789")
        #expect(envelope.metadata.ownerRole == "admin")
        #expect(envelope.metadata.ownerIP == "192.168.1.100")
        #expect(envelope.metadata.ownerType == .user)
        #expect(envelope.payload["id"] == .integer(123))
        #expect(EventID.isUUID(envelope.eventID))
        #expect(envelope.timestamp.rfc3339 == "2024-06-22T12:00:00.000Z")
        // Producers always write owner_*, never the aliases.
        let metadata = envelope.json["metadata"]!.objectValue!
        #expect(metadata["user_id"] == nil && metadata["owner_id"] == "789")
    }

    @Test("without the assigning option, the brief's example lacks an event_id")
    func briefExampleNeedsEventIDOnTheBus() throws {
        let error = #expect(throws: EnvelopeValidationError.self) {
            try EventEnvelope.decode(Array(SampleEvents.briefExample.utf8))
        }
        #expect(error?.fields == ["event_id"])
    }

    @Test("malformed JSON is refused with the byte offset")
    func malformedJSON() throws {
        let error = #expect(throws: EnvelopeValidationError.self) { try EventEnvelope.decode(Array("{\"a\": }".utf8)) }
        #expect(error?.fields == ["body"])
        #expect(error?.description.contains("not valid JSON") == true)
    }

    @Test("an event over 128 KiB is refused")
    func oversized() throws {
        #expect(EventEnvelope.maximumEncodedSize == 131_072)
        let big = SampleEvents.envelope(
            payload: ["blob": .string(String(repeating: "x", count: EventEnvelope.maximumEncodedSize))])
        let error = #expect(throws: EnvelopeValidationError.self) { try EventEnvelope.decode(big.encoded()) }
        #expect(error?.fields == ["body"])
        #expect(error?.description.contains("over the limit") == true)
    }

    @Test("identifiers with control characters are refused (PostgreSQL cannot store a NUL in text)")
    func controlCharacters() throws {
        let object = Self.setting("payload.public_id", to: "abc\u{0}def", in: SampleEvents.object())
        let error = #expect(throws: EnvelopeValidationError.self) { try EventEnvelope.decode(Self.bytes(object)) }
        #expect(error?.fields == ["payload.public_id"])
        #expect(error?.description.contains("control characters") == true)
    }

    @Test("an unknown verb is refused")
    func unknownVerb() throws {
        let object = Self.setting("event_type", to: "account.frobbed", in: SampleEvents.object())
        let error = #expect(throws: EnvelopeValidationError.self) { try EventEnvelope.decode(Self.bytes(object)) }
        #expect(error?.description.contains("unknown verb 'frobbed'") == true)
    }

    @Test("an envelope round-trips through its canonical encoding")
    func roundTrip() throws {
        let envelope = SampleEvents.envelope(payload: ["nested": ["a": [1, .double(2.5), "é\n\"", .null, true]]])
        let decoded = try EventEnvelope.decode(envelope.encoded())
        #expect(decoded == envelope)
        #expect(decoded.encoded() == envelope.encoded())
    }
}

@Suite("Event type registry")
struct EventTypeRegistryTests {
    @Test(
        "verbs map to action types",
        arguments: [
            ("created", "new"), ("updated", "update"), ("deleted", "delete"), ("removed", "delete"),
            ("disabled", "disable"), ("enabled", "enable"),
        ]
    )
    func standardVerbs(_ verb: String, _ action: String) throws {
        let type = try #require(EventType("account.\(verb)"))
        #expect(EventTypeRegistry.standard.action(for: type)?.rawValue == action)
    }

    @Test("the brief's own example type, account.removed, is accepted as a deletion")
    func briefRemovedVerb() throws {
        let object = EnvelopeValidationTests.setting("event_type", to: "account.removed", in: SampleEvents.object())
        let envelope = try EventEnvelope.decode(EnvelopeValidationTests.bytes(object))
        #expect(envelope.eventType == EventType(entity: "account", verb: .removed))
        #expect(EventTypeRegistry.standard.action(for: envelope.eventType) == .delete)
    }

    @Test("a declared verb is accepted")
    func declaredVerb() throws {
        var registry = EventTypeRegistry.standard
        registry.declare(verb: EventVerb(rawValue: "sent"), as: .new)
        let object = EnvelopeValidationTests.setting("event_type", to: "notification.sent", in: SampleEvents.object())
        let envelope = try EventEnvelope.decode(
            EnvelopeValidationTests.bytes(object), options: .init(registry: registry)
        )
        #expect(registry.action(for: envelope.eventType) == .new)
    }
}
