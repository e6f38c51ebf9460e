import AuditService
import BizAWS
import BizEvents
import BizStorage
import BizTesting
import Foundation
import SQLKit
import Testing

@Suite("Audit trail per tenant (SQLite, PostgreSQL and DynamoDB)")
struct AuditTenancyTests {
    let north = "aaaaaaaa-0000-4000-8000-000000000001"
    let south = "bbbbbbbb-0000-4000-8000-000000000002"
    let person = "7d9e2f10-2222-4222-8333-944455556666"
    let northAccount = "0a0b0c0d-0000-4000-8000-00000000000a"
    let southAccount = "0a0b0c0d-0000-4000-8000-00000000000b"

    func at(_ second: Int) -> EventTimestamp {
        EventTimestamp(millisecondsSinceEpoch: 1_800_000_000_000 + Int64(second) * 1000)
    }

    /// One person known to two tenants (an account in each), an event of neither, and one whose tenant is in its
    /// metadata only.
    func events() -> [EventEnvelope] {
        var byMetadata = SampleEvents.envelope(
            "team.created", entityID: "0a0b0c0d-0000-4000-8000-00000000000d", timestamp: at(4))
        byMetadata.metadata.tenantID = south
        return [
            SampleEvents.envelope(
                "account.created", entityID: northAccount, ownershipID: person, timestamp: at(0),
                payload: ["tenant_id": .string(north)]),
            SampleEvents.envelope(
                "account.created", entityID: southAccount, ownershipID: person, timestamp: at(1),
                producer: "identity_service", payload: ["tenant_id": .string(south)]),
            SampleEvents.envelope(
                "account.updated", entityID: northAccount, ownershipID: person, timestamp: at(2),
                payload: ["tenant_id": .string(north)]),
            SampleEvents.envelope("team.created", entityID: "0a0b0c0d-0000-4000-8000-00000000000c", timestamp: at(3)),
            byMetadata,
        ]
    }

    @Test(
        "each event records its tenant; lists, histories and ownerships read one tenant's part",
        arguments: AuditStoreKind.available)
    func tenantScopes(_ kind: AuditStoreKind) async throws {
        try await withAuditStore(kind) { pipeline in
            let audit = pipeline.audit
            let events = events()
            _ = try await audit.ingest(events)
            func listed(_ filter: EventFilter) async throws -> [String] {
                try await audit.events(matching: filter, after: nil, limit: 10).map(\.eventID)
            }
            #expect(try await listed(.init(tenantID: north)) == [events[0], events[2]].map(\.eventID))
            #expect(try await listed(.init(tenantID: south)) == [events[1], events[4]].map(\.eventID))
            #expect(try await listed(.init(tenantID: "")) == [events[3].eventID])
            #expect(try await listed(.init()).count == 5)
            #expect(
                try await listed(.init(tenantID: north, eventType: "account.updated")) == [events[2].eventID])
            #expect(try await listed(.init(tenantID: south, ownershipID: person)) == [events[1].eventID])
            let stored = try await audit.events(matching: .init(tenantID: south), after: nil, limit: 10)
            #expect(stored.map(\.tenantID) == [south, south])

            let northHistory = try await audit.history(entityType: "account", entityID: northAccount, tenantID: north)
            #expect(northHistory.map(\.version) == [1, 2])
            #expect(northHistory.map(\.tenantID) == [north, north])
            #expect(try await audit.history(entityType: "account", entityID: northAccount, tenantID: south).isEmpty)
            #expect(
                try await audit.version(entityType: "account", entityID: northAccount, at: at(9), tenantID: south)
                    == nil)
            #expect(
                try await audit.version(entityType: "account", entityID: northAccount, at: at(9), tenantID: north)?
                    .version == 2)

            let northPart = try #require(try await audit.ownership(id: person, tenantID: north))
            #expect(northPart.eventCount == 2)
            #expect(northPart.firstSeenAt == at(0).rfc3339)
            #expect(northPart.lastSeenAt == at(2).rfc3339)
            #expect(northPart.subjectEntityID == northAccount)
            #expect(northPart.producerServices == ["team_service"])
            let southPart = try #require(try await audit.ownership(id: person, tenantID: south))
            #expect(southPart.eventCount == 1)
            #expect(southPart.producerServices == ["identity_service"])
            #expect(try await audit.ownership(id: person, tenantID: "cccccccc-0000-4000-8000-000000000003") == nil)
            #expect(try await audit.ownership(id: person)?.eventCount == 3)
        }
    }

    @Test(
        "events stored before tenants were recorded get theirs from the envelope, and stay immutable",
        arguments: StoreKind.available)
    func backfill(_ kind: StoreKind) async throws {
        let (before, added) = (Array(SQLAuditStore.migrations.prefix(1)), SQLAuditStore.migrations[1])
        try await TestDatabases.withStore(kind, migrations: before) { store in
            let owned = SampleEvents.envelope(payload: ["tenant_id": .string(north)])
            let unowned = SampleEvents.envelope(entityID: southAccount)
            try await store.transaction { database in
                for event in [owned, unowned] {
                    try await database.raw(
                        """
                        INSERT INTO audit_events (event_id, event_type, entity_type, entity_id, producer_service,
                        trace_id, ownership_id, occurred_at, received_at, envelope) VALUES (\(bind: event.eventID),
                        \(bind: event.eventType.description), \(bind: event.entityType), \(bind: event.entityID),
                        \(bind: event.producerService), \(bind: event.traceID), \(bind: event.metadata.ownershipID),
                        \(bind: event.timestamp.rfc3339), \(bind: event.timestamp.rfc3339),
                        \(bind: String(decoding: event.encoded(), as: UTF8.self)))
                        """
                    ).run()
                }
            }
            let flavor = store.flavor
            try await store.transaction { database in
                for statement in added.statements(flavor) { try await database.raw(SQLQueryString(statement)).run() }
            }
            let audit = SQLAuditStore(store: store)
            #expect(
                try await audit.events(matching: .init(tenantID: north), after: nil, limit: 10).map(\.eventID) == [
                    owned.eventID
                ])
            #expect(
                try await audit.events(matching: .init(tenantID: ""), after: nil, limit: 10).map(\.eventID) == [
                    unowned.eventID
                ])
            await #expect(throws: StorageError.self) {
                try await store.transaction { database in
                    try await database.raw("UPDATE audit_events SET tenant_id = 'x'").run()
                }
            }
        }
    }

    @Test(
        "a DynamoDB table made before tenants were recorded gains the tenant index at start",
        .enabled(if: AuditStoreKind.dynamoDBEndpoint != nil))
    func dynamoDBIndexAdded() async throws {
        let endpoint = try #require(AuditStoreKind.dynamoDBEndpoint)
        let prefix = "t" + UUID().uuidString.prefix(8).lowercased() + "_"
        let url = "dynamodb://us-east-1/\(prefix)?endpoint=\(endpoint)"
        let credentials = AWSCredentials(accessKeyID: "test", secretAccessKey: "test")
        let first = try await DynamoDBAuditStore.open(url: url, credentials: credentials)
        func indexes() async throws -> [String] {
            let table = try await first.client.call("DescribeTable", ["TableName": .string(prefix + "audit_events")])
            return (table["Table"]?["GlobalSecondaryIndexes"]?.arrayValue ?? []).compactMap {
                $0["IndexName"]?.stringValue
            }.sorted()
        }
        _ = try await first.client.call(
            "UpdateTable",
            [
                "TableName": .string(prefix + "audit_events"),
                "GlobalSecondaryIndexUpdates": [["Delete": ["IndexName": "by_tenant"]]],
            ])
        #expect(try await !indexes().contains("by_tenant"))
        let reopened = try await DynamoDBAuditStore.open(url: url, credentials: credentials)
        #expect(try await indexes().contains("by_tenant"))
        let event = SampleEvents.envelope(payload: ["tenant_id": .string(north)])
        _ = try await reopened.ingest([event])
        #expect(
            try await reopened.events(matching: .init(tenantID: north), after: nil, limit: 10).map(\.eventID) == [
                event.eventID
            ])
        try await reopened.close()
        try await first.close()
    }
}
