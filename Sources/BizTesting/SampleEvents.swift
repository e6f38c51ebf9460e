import BizEvents

/// Envelopes for tests, valid unless a test breaks them on purpose.
public enum SampleEvents {
    public static let ownershipID = "1b08116e-74ff-4e71-8a17-26011cfea33f"

    /// The brief's example event, with its trailing comma removed so it is JSON.
    public static let briefExample = """
        {
          "producer_service": "team_service",
          "producer_service_id": "123e4567-e89b-12d3-a456-426614174000",
          "trace_id": "7b3bf470-9456-11e8-9eb6-529269fb1459",
          "timestamp": "2024-06-22T12:00:00Z",
          "event_type": "account.created",
          "payload": {
            "id": 123,
            "public_id": "123e4567-e89b-12d3-a456-426614174000",
            "document_registry": "12345678900",
            "name": "John Doe"
          },
          "metadata": {
            "event_schema_version": "1.0",
            "environment": "production",
            "user_id": "789",
            "user_role": "admin",
            "user_ip": "192.168.1.100",
            "ownership_id": "1b08116e-74ff-4e71-8a17-26011cfea33f"
          }
        }
        """

    /// A valid envelope for `entityType.verb` on `entityID`.
    public static func envelope(
        _ eventType: String = "account.created", entityID: String = "9c8a3c1e-3f0e-4a7e-9f5d-2b1f0c7d6e5a",
        ownershipID: String = ownershipID, timestamp: EventTimestamp = .now(), traceID: String? = nil,
        producer: String = "team_service", payload extra: [String: JSONValue] = [:]
    ) -> EventEnvelope {
        var payload: [String: JSONValue] = ["public_id": .string(entityID), "name": "Maria Silva"]
        payload.merge(extra) { _, new in new }
        return EventEnvelope(
            eventID: EventID.generate(at: timestamp), producerService: producer,
            producerServiceID: "5f0c6b1e-0d2a-4c1b-8e3f-7a6b5c4d3e2f",
            traceID: traceID ?? "4bf92f3577b34da6a3ce929d0e0e4736", timestamp: timestamp,
            eventType: EventType(eventType)!, payload: payload,
            metadata: EventMetadata(
                ownerID: "admin-1", ownerIP: "127.0.0.1", ownerRole: "admin", ownerType: .user,
                ownershipID: ownershipID, environment: "test"
            )
        )
    }

    /// The envelope as a mutable JSON object, for tests that remove or corrupt fields.
    public static func object(_ envelope: EventEnvelope = envelope()) -> [String: JSONValue] {
        envelope.json.objectValue!
    }
}
