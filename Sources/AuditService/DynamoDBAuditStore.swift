import BizAWS
import BizEvents
import Foundation

/// The audit store in DynamoDB (`BIZ_AUDIT_STORE=dynamodb://REGION/TABLE_PREFIX?endpoint=…`).
///
/// Tables (created at start when missing, on-demand billing): `<prefix>audit_events` (key `event_id`; secondary
/// indexes by trace id, ownership id, tenant, event type and one stream, each ordered by `seq`), `<prefix>audit_versions`
/// (key `entity_key` + `version`), `<prefix>ownerships`, and `<prefix>audit_meta` (the `seq` counter).
///
/// Each event is one `TransactWriteItems`: the event (condition: its id is new, so a redelivery changes nothing),
/// version n+1 (condition: it does not exist, so versions stay gap-free under concurrent writers), the previous
/// version's deactivation, and the ownership row (condition: the revision read, optimistic concurrency). A
/// transaction that loses a race is retried from a fresh read. DynamoDB has no triggers: deny `DeleteItem` and
/// `UpdateItem` on the events table in the service's IAM policy to make it append-only for everyone else.
///
/// The tenant index is sparse (an index key cannot be empty): events with no tenant are the platform's only. A table
/// made before tenants were recorded gains the index at start; its older events have no `tenant_id` attribute, so
/// they stay visible to the platform's operators only.
public final class DynamoDBAuditStore: AuditStore {
    public let client: DynamoDBClient
    public let tablePrefix: String
    var events: String { tablePrefix + "audit_events" }
    var versions: String { tablePrefix + "audit_versions" }
    var ownerships: String { tablePrefix + "ownerships" }
    var meta: String { tablePrefix + "audit_meta" }

    public init(client: DynamoDBClient, tablePrefix: String) {
        self.client = client
        self.tablePrefix = tablePrefix
    }

    /// Parses `dynamodb://REGION/TABLE_PREFIX?endpoint=URL` and creates the tables when missing.
    public static func open(url text: String, credentials: AWSCredentials?) async throws -> DynamoDBAuditStore {
        guard let components = URLComponents(string: text), components.scheme == "dynamodb",
            let region = components.host, !region.isEmpty
        else {
            throw DynamoDBError(
                type: "Configuration", message: "expected dynamodb://REGION/TABLE_PREFIX?endpoint=URL", status: 0)
        }
        guard let credentials else {
            throw DynamoDBError(
                type: "Configuration", message: "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are required", status: 0)
        }
        let endpoint = components.queryItems?.first { $0.name == "endpoint" }?.value.flatMap(URL.init(string:))
        let prefix = String(components.path.drop { $0 == "/" })
        let store = DynamoDBAuditStore(
            client: DynamoDBClient(region: region, credentials: credentials, endpoint: endpoint), tablePrefix: prefix)
        try await store.ensureTables()
        return store
    }

    public func close() async throws {
        try await client.shutdown()
    }

    // MARK: Tables

    func ensureTables() async throws {
        func index(_ name: String, _ hash: String) -> JSONValue {
            [
                "IndexName": .string(name),
                "KeySchema": [
                    ["AttributeName": .string(hash), "KeyType": "HASH"], ["AttributeName": "seq", "KeyType": "RANGE"],
                ],
                "Projection": ["ProjectionType": "ALL"],
            ]
        }
        func attribute(_ name: String, _ type: String) -> JSONValue {
            ["AttributeName": .string(name), "AttributeType": .string(type)]
        }
        let tables: [JSONValue] = [
            [
                "TableName": .string(events), "BillingMode": "PAY_PER_REQUEST",
                "KeySchema": [["AttributeName": "event_id", "KeyType": "HASH"]],
                "AttributeDefinitions": [
                    attribute("event_id", "S"), attribute("seq", "N"), attribute("trace_id", "S"),
                    attribute("ownership_id", "S"), attribute("event_type", "S"), attribute("stream", "S"),
                    attribute("tenant_id", "S"),
                ],
                "GlobalSecondaryIndexes": [
                    index("by_trace", "trace_id"), index("by_ownership", "ownership_id"),
                    index("by_type", "event_type"), index("by_stream", "stream"), index("by_tenant", "tenant_id"),
                ],
            ],
            [
                "TableName": .string(versions), "BillingMode": "PAY_PER_REQUEST",
                "KeySchema": [
                    ["AttributeName": "entity_key", "KeyType": "HASH"],
                    ["AttributeName": "version", "KeyType": "RANGE"],
                ],
                "AttributeDefinitions": [attribute("entity_key", "S"), attribute("version", "N")],
            ],
            [
                "TableName": .string(ownerships), "BillingMode": "PAY_PER_REQUEST",
                "KeySchema": [["AttributeName": "ownership_id", "KeyType": "HASH"]],
                "AttributeDefinitions": [attribute("ownership_id", "S")],
            ],
            [
                "TableName": .string(meta), "BillingMode": "PAY_PER_REQUEST",
                "KeySchema": [["AttributeName": "name", "KeyType": "HASH"]],
                "AttributeDefinitions": [attribute("name", "S")],
            ],
        ]
        for table in tables {
            let name = table["TableName"]!
            do {
                let described = try await client.call("DescribeTable", ["TableName": name])
                try await addMissingIndexes(of: table, described: described["Table"] ?? [:])
                continue
            } catch let error as DynamoDBError where error.type == "ResourceNotFoundException" {}
            do {
                _ = try await client.call("CreateTable", table)
            } catch let error as DynamoDBError where error.type == "ResourceInUseException" {}
            for _ in 0..<120 {
                let described = try await client.call("DescribeTable", ["TableName": name])
                if described["Table"]?["TableStatus"]?.stringValue == "ACTIVE" { break }
                try await Task.sleep(for: .milliseconds(500))
            }
        }
    }

    /// Creates the secondary indexes `table` declares that the existing table lacks (one `UpdateTable` each, as
    /// DynamoDB allows), waiting until each is active.
    func addMissingIndexes(of table: JSONValue, described: JSONValue) async throws {
        let existing = Set(
            (described["GlobalSecondaryIndexes"]?.arrayValue ?? []).compactMap { $0["IndexName"]?.stringValue })
        for index in table["GlobalSecondaryIndexes"]?.arrayValue ?? [] {
            guard let name = index["IndexName"]?.stringValue, !existing.contains(name) else { continue }
            _ = try await client.call(
                "UpdateTable",
                [
                    "TableName": table["TableName"]!, "AttributeDefinitions": table["AttributeDefinitions"]!,
                    "GlobalSecondaryIndexUpdates": [["Create": index]],
                ])
            for _ in 0..<600 {
                let indexes =
                    try await client.call("DescribeTable", ["TableName": table["TableName"]!])["Table"]?[
                        "GlobalSecondaryIndexes"]?.arrayValue ?? []
                let status = indexes.first { $0["IndexName"]?.stringValue == name }?["IndexStatus"]?.stringValue
                if status == nil || status == "ACTIVE" { break }
                try await Task.sleep(for: .milliseconds(500))
            }
        }
    }

    // MARK: Ingestion

    public func ingest(_ records: [AuditRecord]) async throws -> IngestReport {
        var seen: Set<String> = []
        let unique = records.filter { seen.insert($0.envelope.eventID).inserted }
        guard !unique.isEmpty else { return IngestReport() }
        var sequence = try await reserveSequence(count: unique.count)
        var report = IngestReport(stored: 0, duplicates: records.count - unique.count)
        for record in unique {
            sequence += 1
            if try await store(record, sequence: sequence) {
                report.stored += 1
            } else {
                report.duplicates += 1
            }
        }
        return report
    }

    /// Reserves `count` sequence numbers; returns the one before the first.
    func reserveSequence(count: Int) async throws -> Int64 {
        let response = try await client.call(
            "UpdateItem",
            [
                "TableName": .string(meta), "Key": ["name": .attrS("event_seq")], "UpdateExpression": "ADD #v :n",
                "ExpressionAttributeNames": ["#v": "value"],
                "ExpressionAttributeValues": [":n": .attrN(Int64(count))], "ReturnValues": "UPDATED_NEW",
            ])
        guard let last = response["Attributes"]?["value"]?.n else {
            throw DynamoDBError(type: "UnexpectedResponse", message: "no sequence value", status: 0)
        }
        return last - Int64(count)
    }

    /// Stores one event as the next version of its entity; false when it was stored before.
    func store(_ record: AuditRecord, sequence: Int64) async throws -> Bool {
        let event = record.envelope
        let entityKey = event.entityType + "/" + event.entityID
        for _ in 0..<20 {
            let head = try await client.call(
                "Query",
                [
                    "TableName": .string(versions), "KeyConditionExpression": "entity_key = :k",
                    "ExpressionAttributeValues": [":k": .attrS(entityKey)], "ScanIndexForward": false, "Limit": 1,
                    "ConsistentRead": true,
                ])
            let headVersion = head["Items"]?.arrayValue?.first?["version"]?.n ?? 0
            let ownershipItem = try await client.call(
                "GetItem",
                [
                    "TableName": .string(ownerships), "Key": ["ownership_id": .attrS(event.metadata.ownershipID)],
                    "ConsistentRead": true,
                ])["Item"]
            var items: [JSONValue] = [
                [
                    "Put": [
                        "TableName": .string(events), "Item": eventItem(record, sequence: sequence),
                        "ConditionExpression": "attribute_not_exists(event_id)",
                    ]
                ],
                [
                    "Put": [
                        "TableName": .string(versions),
                        "Item": versionItem(record, key: entityKey, version: headVersion + 1),
                        "ConditionExpression": "attribute_not_exists(entity_key)",
                    ]
                ],
                ownershipWrite(event, current: ownershipItem),
            ]
            if headVersion > 0 {
                items.append(
                    [
                        "Update": [
                            "TableName": .string(versions),
                            "Key": ["entity_key": .attrS(entityKey), "version": .attrN(headVersion)],
                            "UpdateExpression": "SET is_active = :f",
                            "ConditionExpression": "attribute_exists(entity_key)",
                            "ExpressionAttributeValues": [":f": .attrBool(false)],
                        ]
                    ])
            }
            do {
                _ = try await client.call("TransactWriteItems", ["TransactItems": .array(items)])
                return true
            } catch let error as DynamoDBError where error.type == "TransactionCanceledException" {
                if error.reasons.first == "ConditionalCheckFailed" { return false }
                // Another writer moved the entity's head or the ownership row first: read again.
                continue
            }
        }
        throw DynamoDBError(type: "Contention", message: "too many concurrent writers on one entity", status: 503)
    }

    func eventItem(_ record: AuditRecord, sequence: Int64) -> JSONValue {
        let event = record.envelope
        return withTenant(
            event,
            [
                "event_id": .attrS(event.eventID), "seq": .attrN(sequence), "stream": .attrS("all"),
                "event_type": .attrS(event.eventType.description), "entity_type": .attrS(event.entityType),
                "entity_id": .attrS(event.entityID), "producer_service": .attrS(event.producerService),
                "trace_id": .attrS(event.traceID), "ownership_id": .attrS(event.metadata.ownershipID),
                "occurred_at": .attrS(event.timestamp.rfc3339), "received_at": .attrS(EventTimestamp.now().rfc3339),
                "envelope": .attrS(record.canonicalJSON),
            ])
    }

    /// `item` with the event's `tenant_id` when it has one: an index key cannot be an empty string.
    func withTenant(_ event: EventEnvelope, _ item: [String: JSONValue]) -> JSONValue {
        var item = item
        if !event.tenantID.isEmpty { item["tenant_id"] = .attrS(event.tenantID) }
        return .object(item)
    }

    func versionItem(_ record: AuditRecord, key: String, version: Int64) -> JSONValue {
        let event = record.envelope
        return withTenant(
            event,
            [
                "entity_key": .attrS(key), "version": .attrN(version), "entity_type": .attrS(event.entityType),
                "entity_id": .attrS(event.entityID), "action_type": .attrS(record.action.rawValue),
                "action_at": .attrS(event.timestamp.rfc3339), "is_active": .attrBool(record.action != .delete),
                "event_id": .attrS(event.eventID), "event_type": .attrS(event.eventType.description),
                "envelope": .attrS(record.canonicalJSON),
            ])
    }

    /// The ownership row after `event`, written only if nobody changed it since it was read.
    func ownershipWrite(_ event: EventEnvelope, current: JSONValue?) -> JSONValue {
        let ownershipID = event.metadata.ownershipID
        let timestamp = event.timestamp.rfc3339
        let isSubject = event.entityID == ownershipID
        guard let current, let revision = current["rev"]?.n else {
            return [
                "Put": [
                    "TableName": .string(ownerships),
                    "Item": [
                        "ownership_id": .attrS(ownershipID), "subject_entity_type": .attrS(event.entityType),
                        "subject_entity_id": .attrS(event.entityID), "first_seen_at": .attrS(timestamp),
                        "last_seen_at": .attrS(timestamp), "event_count": .attrN(1),
                        "producer_services":
                            .attrSS([event.producerService]), "rev": .attrN(1),
                    ],
                    "ConditionExpression": "attribute_not_exists(ownership_id)",
                ]
            ]
        }
        let first = min(current["first_seen_at"]?.s ?? timestamp, timestamp)
        let last = max(current["last_seen_at"]?.s ?? timestamp, timestamp)
        let subjectType = isSubject ? event.entityType : (current["subject_entity_type"]?.s ?? event.entityType)
        let subjectID = isSubject ? event.entityID : (current["subject_entity_id"]?.s ?? event.entityID)
        return [
            "Update": [
                "TableName": .string(ownerships), "Key": ["ownership_id": .attrS(ownershipID)],
                "UpdateExpression":
                    "SET first_seen_at = :first, last_seen_at = :last, subject_entity_type = :st, subject_entity_id = :sid, rev = :next ADD event_count :one, producer_services :p",
                "ConditionExpression": "rev = :rev",
                "ExpressionAttributeValues": [
                    ":first": .attrS(first), ":last": .attrS(last), ":st": .attrS(subjectType),
                    ":sid": .attrS(subjectID),
                    ":next": .attrN(revision + 1), ":one": .attrN(1), ":p": .attrSS([event.producerService]),
                    ":rev": .attrN(revision),
                ],
            ]
        ]
    }

    // MARK: Reads

    /// Every item a query returns, following `LastEvaluatedKey`, until `enough` says stop.
    func query(_ request: JSONValue, enough: ([JSONValue]) -> Bool = { _ in false }) async throws -> [JSONValue] {
        var items: [JSONValue] = []
        var request = request
        while true {
            let response = try await client.call("Query", request)
            items += response["Items"]?.arrayValue ?? []
            guard let next = response["LastEvaluatedKey"], !enough(items), case .object(var fields) = request
            else { return items }
            fields["ExclusiveStartKey"] = next
            request = .object(fields)
        }
    }

    public func history(entityType: String, entityID: String, tenantID: String?) async throws
        -> [EntityVersionRecord]
    {
        try await query(
            [
                "TableName": .string(versions), "KeyConditionExpression": "entity_key = :k",
                "ExpressionAttributeValues": [":k": .attrS(entityType + "/" + entityID)], "ConsistentRead": true,
            ]
        ).map(Self.version).filter { tenantID == nil || $0.tenantID == tenantID }
    }

    public func version(entityType: String, entityID: String, at instant: EventTimestamp, tenantID: String?)
        async throws -> EntityVersionRecord?
    {
        try await history(entityType: entityType, entityID: entityID, tenantID: tenantID).last {
            $0.actionAt <= instant.rfc3339
        }
    }

    public func events(matching filter: EventFilter, after: Int64?, limit: Int) async throws -> [StoredEventRecord] {
        // The most selective filter picks the index; the others become a filter expression.
        let tenant = filter.tenantID.flatMap { $0.isEmpty ? nil : $0 }
        let (index, hashName, hashValue): (String, String, String) =
            if let trace = filter.traceID {
                ("by_trace", "trace_id", trace)
            } else if let ownership = filter.ownershipID {
                ("by_ownership", "ownership_id", ownership)
            } else if let tenant {
                ("by_tenant", "tenant_id", tenant)
            } else if let type = filter.eventType {
                ("by_type", "event_type", type)
            } else {
                ("by_stream", "stream", "all")
            }
        var conditions: [String] = []
        var values: [String: JSONValue] = [":h": .attrS(hashValue), ":after": .attrN(after ?? 0)]
        func add(_ column: String, _ value: String?, _ comparison: String = "=") {
            guard let value, column != hashName else { return }
            let placeholder = ":f\(values.count)"
            conditions.append("\(column) \(comparison) \(placeholder)")
            values[placeholder] = .attrS(value)
        }
        add("trace_id", filter.traceID)
        add("tenant_id", tenant)
        if filter.tenantID == "" { conditions.append("attribute_not_exists(tenant_id)") }
        add("ownership_id", filter.ownershipID)
        add("event_type", filter.eventType)
        add("producer_service", filter.producerService)
        add("occurred_at", filter.since?.rfc3339, ">=")
        add("occurred_at", filter.until?.rfc3339, "<")
        var request: [String: JSONValue] = [
            "TableName": .string(events), "IndexName": .string(index),
            "KeyConditionExpression": .string("\(hashName) = :h AND seq > :after"),
            "ExpressionAttributeValues": .object(values), "Limit": .integer(Int64(min(max(limit, 1), 1000))),
        ]
        if !conditions.isEmpty { request["FilterExpression"] = .string(conditions.joined(separator: " AND ")) }
        let items = try await query(.object(request)) { $0.count >= limit }
        return items.prefix(limit).map(Self.storedEvent)
    }

    public func ownership(id: String, tenantID: String?) async throws -> OwnershipRecord? {
        if let tenantID { return try await ownership(id: id, within: tenantID) }
        let response = try await client.call(
            "GetItem", ["TableName": .string(ownerships), "Key": ["ownership_id": .attrS(id)], "ConsistentRead": true])
        guard let item = response["Item"] else { return nil }
        return OwnershipRecord(
            ownershipID: id, subjectEntityType: item["subject_entity_type"]?.s ?? "",
            subjectEntityID: item["subject_entity_id"]?.s ?? "", firstSeenAt: item["first_seen_at"]?.s ?? "",
            lastSeenAt: item["last_seen_at"]?.s ?? "", eventCount: item["event_count"]?.n ?? 0,
            producerServices: (item["producer_services"]?["SS"]?.arrayValue ?? []).compactMap(\.stringValue).sorted())
    }

    /// The ownership summary over one tenant's events, as the SQL store computes it.
    func ownership(id: String, within tenantID: String) async throws -> OwnershipRecord? {
        let events = try await self.events(
            matching: EventFilter(tenantID: tenantID, ownershipID: id), after: nil, limit: Int.max)
        guard let first = events.first else { return nil }
        let subject = events.first { $0.entityID == id } ?? first
        let times = events.map(\.timestamp)
        return OwnershipRecord(
            ownershipID: id, subjectEntityType: subject.entityType, subjectEntityID: subject.entityID,
            firstSeenAt: times.min() ?? "", lastSeenAt: times.max() ?? "", eventCount: Int64(events.count),
            producerServices: Set(events.map(\.producerService)).sorted())
    }

    static func version(_ item: JSONValue) -> EntityVersionRecord {
        EntityVersionRecord(
            entityType: item["entity_type"]?.s ?? "", entityID: item["entity_id"]?.s ?? "",
            version: item["version"]?.n ?? 0, actionType: item["action_type"]?.s ?? "",
            actionAt: item["action_at"]?.s ?? "", isActive: item["is_active"]?["BOOL"] == JSONValue.bool(true),
            eventID: item["event_id"]?.s ?? "", eventType: item["event_type"]?.s ?? "",
            tenantID: item["tenant_id"]?.s ?? "", envelope: item["envelope"]?.s ?? "")
    }

    static func storedEvent(_ item: JSONValue) -> StoredEventRecord {
        StoredEventRecord(
            sequence: item["seq"]?.n ?? 0, eventID: item["event_id"]?.s ?? "", eventType: item["event_type"]?.s ?? "",
            entityType: item["entity_type"]?.s ?? "", entityID: item["entity_id"]?.s ?? "",
            traceID: item["trace_id"]?.s ?? "", ownershipID: item["ownership_id"]?.s ?? "",
            tenantID: item["tenant_id"]?.s ?? "",
            producerService: item["producer_service"]?.s ?? "", timestamp: item["occurred_at"]?.s ?? "",
            receivedAt: item["received_at"]?.s ?? "", envelope: item["envelope"]?.s ?? "")
    }
}
