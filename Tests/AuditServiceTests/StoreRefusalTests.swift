import BizAWS
import BizEvents
import BizMessaging
import BizStorage
import BizTesting
import Testing

@testable import AuditService

/// An event the audit store cannot hold must not stop the pipeline: it is dead-lettered, the rest is stored.
@Suite("Events the audit store refuses")
struct StoreRefusalTests {
    @Test(
        "an item over DynamoDB's 400 KB is dead-lettered with the reason; the events around it are stored",
        .enabled(if: AuditStoreKind.dynamoDBEndpoint != nil))
    func oversizedItem() async throws {
        try await withAuditStore(.dynamodb) { underTest in
            try await withTemporaryDirectory { directory in
                let busStore = try await SQLiteStore.open(
                    path: directory + "/bus.sqlite", migrations: DurableBus.migrations, logger: testLogger)
                let bus = DurableBus(store: busStore)
                let consumer = AuditConsumer(store: underTest.audit, deadLetters: bus, logger: testLogger)
                // Validation bounds events to 128 KiB, so only a producer that skipped it makes one this large: the
                // record is built directly, as a store refusal for any reason would look.
                let before = SampleEvents.envelope(entityID: EventID.generate())
                let huge = SampleEvents.envelope(
                    entityID: EventID.generate(), payload: ["blob": .string(String(repeating: "x", count: 500_000))])
                let after = SampleEvents.envelope(entityID: EventID.generate())
                let records = [before, huge, after].map { AuditRecord($0) }
                let origins = [before, huge, after].enumerated().map { offset, event in
                    DeliveredMessage(
                        offset: Int64(offset + 1), key: event.entityID, eventID: event.eventID,
                        eventType: event.eventType.description, body: event.encoded())
                }
                try await consumer.apply(.init(records: records, origins: origins, rejected: []))
                // Redelivered: nothing stored twice, the dead letter kept once.
                try await consumer.apply(.init(records: records, origins: origins, rejected: []))

                for event in [before, after] {
                    #expect(
                        try await underTest.audit.history(entityType: event.entityType, entityID: event.entityID)
                            .count == 1)
                }
                #expect(try await underTest.audit.history(entityType: huge.entityType, entityID: huge.entityID).isEmpty)
                let letters = try await bus.list(limit: 10, before: nil)
                #expect(letters.count == 1)
                #expect(letters.first?.sourceReference == "bus:2")
                #expect(letters.first?.body == huge.encoded())
                #expect(letters.first?.reason.contains("ValidationException") == true)
                try await busStore.close()
            }
        }
    }

    @Test("a store that is down is retried, never dead-lettered")
    func transientFailure() {
        #expect(!AuditConsumer.refusesData(StorageError(code: .unavailable, reason: "down")))
        #expect(AuditConsumer.refusesData(StorageError(code: .invalidData, reason: "NUL")))
        #expect(
            !AuditConsumer.refusesData(
                DynamoDBError(type: "ProvisionedThroughputExceededException", message: "", status: 400)))
        #expect(
            AuditConsumer.refusesData(
                DynamoDBError(type: "ValidationException", message: "Item size has exceeded", status: 400)))
    }
}
