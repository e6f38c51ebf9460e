import AuditService
import BizEvents
import BizStorage
import BizTesting
import Foundation
import SQLKit
import Testing

@Suite("Audit store conformance (SQLite, PostgreSQL and DynamoDB)")
struct AuditStoreTests {
    let entityID = "3f2b1c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"

    func lifecycle() -> [EventEnvelope] {
        let start = EventTimestamp(rfc3339: "2026-01-01T00:00:00Z")!
        return ["created", "updated", "disabled", "enabled", "deleted"].enumerated().map { index, verb in
            SampleEvents.envelope(
                "account.\(verb)", entityID: entityID,
                timestamp: EventTimestamp(millisecondsSinceEpoch: start.millisecondsSinceEpoch + Int64(index) * 1000)
            )
        }
    }

    @Test(
        "new → update → disable → enable → delete gives versions 1–5 with the right flags",
        arguments: AuditStoreKind.available)
    func versioning(_ kind: AuditStoreKind) async throws {
        try await withAuditStore(kind) { pipeline in
            // One event per ingestion, as a trickle of requests would arrive.
            for event in lifecycle() { _ = try await pipeline.audit.ingest([event]) }
            let history = try await pipeline.audit.history(entityType: "account", entityID: entityID)
            #expect(history.map(\.version) == [1, 2, 3, 4, 5])
            #expect(history.map(\.actionType) == ["new", "update", "disable", "enable", "delete"])
            #expect(history.map(\.isActive) == [false, false, false, false, false])
            #expect(history.map(\.actionAt) == lifecycle().map(\.timestamp.rfc3339))
        }
    }

    @Test(
        "a batch of one entity's lifecycle gives the same versions as one event at a time",
        arguments: AuditStoreKind.available)
    func versioningInOneBatch(_ kind: AuditStoreKind) async throws {
        try await withAuditStore(kind) { pipeline in
            let events = Array(lifecycle().prefix(4))
            let report = try await pipeline.audit.ingest(events)
            #expect(report == IngestReport(stored: 4, duplicates: 0))
            let history = try await pipeline.audit.history(entityType: "account", entityID: entityID)
            #expect(history.map(\.version) == [1, 2, 3, 4])
            #expect(history.map(\.isActive) == [false, false, false, true])
            let envelope = try JSONParser.parse(Array(history[3].envelope.utf8))
            #expect(envelope == events[3].json)
        }
    }

    // Not against moto: its TransactWriteItems checks every condition before writing but does not isolate
    // concurrent transactions from each other (real DynamoDB cancels the loser with TransactionConflict), so two
    // writers of the same event can both pass. The DynamoDB store relies on DynamoDB's isolation there.
    @Test(
        "concurrent writers on one entity get gap-free versions and exactly one active head",
        arguments: AuditStoreKind.available.filter { $0 != .dynamodb })
    func concurrentWriters(_ kind: AuditStoreKind) async throws {
        try await withAuditStore(kind) { pipeline in
            let start = EventTimestamp(rfc3339: "2026-02-01T00:00:00Z")!
            let events = (0..<24).map { index in
                SampleEvents.envelope(
                    index == 0 ? "account.created" : "account.updated", entityID: entityID,
                    timestamp: EventTimestamp(millisecondsSinceEpoch: start.millisecondsSinceEpoch + Int64(index)))
            }
            _ = try await pipeline.audit.ingest([events[0]])
            // Three replicas racing, each also redelivering the others' events.
            try await withThrowingTaskGroup { group in
                for writer in 0..<3 {
                    let audit = pipeline.audit
                    group.addTask {
                        for index in stride(from: 1 + writer, to: 24, by: 3) {
                            _ = try await audit.ingest([events[index], events[(index + 1) % 24]])
                        }
                    }
                }
                try await group.waitForAll()
            }
            let history = try await pipeline.audit.history(entityType: "account", entityID: entityID)
            #expect(history.map(\.version) == Array(1...24))
            #expect(Set(history.map(\.eventID)) == Set(events.map(\.eventID)))
            #expect(history.filter(\.isActive).map(\.version) == [24])
        }
    }

    @Test("a redelivered event changes nothing", arguments: AuditStoreKind.available)
    func duplicates(_ kind: AuditStoreKind) async throws {
        try await withAuditStore(kind) { pipeline in
            let events = lifecycle()
            _ = try await pipeline.audit.ingest(Array(events.prefix(2)))
            let again = try await pipeline.audit.ingest([events[0], events[1], events[1], events[2]])
            #expect(again == IngestReport(stored: 1, duplicates: 3))
            let history = try await pipeline.audit.history(entityType: "account", entityID: entityID)
            #expect(history.map(\.version) == [1, 2, 3])
            let ownership = try #require(try await pipeline.audit.ownership(id: SampleEvents.ownershipID))
            #expect(ownership.eventCount == 3)
        }
    }

    @Test("the state as of a time is the version current then", arguments: AuditStoreKind.available)
    func stateAt(_ kind: AuditStoreKind) async throws {
        try await withAuditStore(kind) { pipeline in
            let events = lifecycle()
            _ = try await pipeline.audit.ingest(events)
            let atSecondVersion = EventTimestamp(
                millisecondsSinceEpoch: events[1].timestamp.millisecondsSinceEpoch + 500)
            let version = try await pipeline.audit.version(
                entityType: "account", entityID: entityID, at: atSecondVersion)
            #expect(version?.version == 2)
            let before = EventTimestamp(millisecondsSinceEpoch: events[0].timestamp.millisecondsSinceEpoch - 1)
            #expect(try await pipeline.audit.version(entityType: "account", entityID: entityID, at: before) == nil)
        }
    }

    @Test("ownerships record first and last seen, count, subject and producers", arguments: AuditStoreKind.available)
    func ownerships(_ kind: AuditStoreKind) async throws {
        try await withAuditStore(kind) { pipeline in
            let person = "7d9e2f10-1111-4222-8333-944455556666"
            let t0 = EventTimestamp(rfc3339: "2026-03-01T10:00:00Z")!
            let t1 = EventTimestamp(rfc3339: "2026-03-02T10:00:00Z")!
            _ = try await pipeline.audit.ingest([
                SampleEvents.envelope("account.created", entityID: person, ownershipID: person, timestamp: t1),
                SampleEvents.envelope(
                    "user.created", entityID: "0a0b0c0d-0000-4000-8000-000000000001", ownershipID: person,
                    timestamp: t0, producer: "identity_service"
                ),
            ])
            let ownership = try #require(try await pipeline.audit.ownership(id: person))
            #expect(ownership.firstSeenAt == t0.rfc3339)
            #expect(ownership.lastSeenAt == t1.rfc3339)
            #expect(ownership.eventCount == 2)
            #expect(ownership.subjectEntityType == "account")
            #expect(ownership.subjectEntityID == person)
            #expect(ownership.producerServices == ["identity_service", "team_service"])
        }
    }

    @Test(
        "events are filtered by trace, ownership, type, producer and time, and paginated",
        arguments: AuditStoreKind.available)
    func filters(_ kind: AuditStoreKind) async throws {
        try await withAuditStore(kind) { pipeline in
            let trace = "0af7651916cd43dd8448eb211c80319c"
            let events = (0..<5).map { index in
                SampleEvents.envelope(
                    "team.created", entityID: "00000000-0000-4000-8000-00000000000\(index)",
                    timestamp: EventTimestamp(millisecondsSinceEpoch: 1_800_000_000_000 + Int64(index) * 1000),
                    traceID: index.isMultiple(of: 2) ? trace : nil
                )
            }
            _ = try await pipeline.audit.ingest(events)
            let byTrace = try await pipeline.audit.events(matching: .init(traceID: trace), after: nil, limit: 10)
            #expect(byTrace.map(\.eventID) == [events[0], events[2], events[4]].map(\.eventID))
            let page1 = try await pipeline.audit.events(
                matching: .init(eventType: "team.created"), after: nil, limit: 2)
            let page2 = try await pipeline.audit.events(
                matching: .init(eventType: "team.created"), after: page1.last?.sequence, limit: 2
            )
            #expect((page1 + page2).map(\.eventID) == events.prefix(4).map(\.eventID))
            let window = try await pipeline.audit.events(
                matching: .init(since: events[1].timestamp, until: events[3].timestamp), after: nil, limit: 10
            )
            #expect(window.map(\.eventID) == [events[1], events[2]].map(\.eventID))
            #expect(
                try await pipeline.audit.events(matching: .init(producerService: "nobody"), after: nil, limit: 10)
                    .isEmpty)
        }
    }

    @Test(
        "the store itself refuses DELETE on every audit table",
        arguments: StoreKind.available, ["audit_events", "audit_versions", "ownerships", "ownership_producers"])
    func deleteRefused(_ kind: StoreKind, _ table: String) async throws {
        try await withAuditStore(AuditStoreKind(rawValue: kind.rawValue)!) { pipeline in
            let sql = try #require(pipeline.sqlStore)
            _ = try await pipeline.audit.ingest(lifecycle())
            let error = await #expect(throws: StorageError.self) {
                try await sql.transaction { database in
                    try await database.raw("DELETE FROM \(unsafeRaw: table)").run()
                }
            }
            #expect(error?.code == .refused)
            let history = try await pipeline.audit.history(entityType: "account", entityID: entityID)
            #expect(history.count == 5)
        }
    }

    @Test("stored events cannot be rewritten and versions can only be deactivated", arguments: StoreKind.available)
    func updatesRefused(_ kind: StoreKind) async throws {
        try await withAuditStore(AuditStoreKind(rawValue: kind.rawValue)!) { pipeline in
            let sql = try #require(pipeline.sqlStore)
            _ = try await pipeline.audit.ingest(Array(lifecycle().prefix(2)))
            for statement in [
                "UPDATE audit_events SET envelope = '{}'",
                "UPDATE audit_versions SET action_type = 'new' WHERE version = 2",
                "UPDATE audit_versions SET is_active = TRUE WHERE version = 1",
            ] {
                await #expect(throws: StorageError.self) {
                    try await sql.transaction { database in
                        try await database.raw(SQLQueryString(statement)).run()
                    }
                }
            }
            let history = try await pipeline.audit.history(entityType: "account", entityID: entityID)
            #expect(history.map(\.isActive) == [false, true])
        }
    }
}
