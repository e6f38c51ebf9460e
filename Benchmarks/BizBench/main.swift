// biz-bench: rerunnable benchmarks, each beside its ceiling measured in the same run.
//
//   swift run -c release biz-bench audit-ingest [--events N] [--batch N] [--dir PATH]
//
// audit-ingest: events published to the durable bus, then consumed by the real BusSubscription + AuditConsumer into
// a SQLite audit store; beside it, a raw batched insert of the same rows into the same schema (the ceiling).
import AuditService
import BizEvents
import BizMessaging
import BizStorage
import Foundation
import Logging
import SQLKit

struct Options {
    var events = 200_000
    var batch = 1000
    var directory = FileManager.default.temporaryDirectory.appendingPathComponent("biz-bench").path

    init(_ arguments: ArraySlice<String>) throws {
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--events": events = Int(iterator.next() ?? "") ?? events
            case "--batch": batch = Int(iterator.next() ?? "") ?? batch
            case "--dir": directory = iterator.next() ?? directory
            default: throw BenchError("unknown option \(argument)")
            }
        }
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Deterministic events: a pool of entities (a quarter of the event count) each created once, then updated.
struct EventSource {
    let count: Int
    let entities: Int
    let start = EventTimestamp(rfc3339: "2026-01-01T00:00:00Z")!

    init(count: Int) {
        self.count = count
        self.entities = max(1, count / 4)
    }

    func entityID(_ index: Int) -> String {
        let hex = String(index, radix: 16)
        return "00000000-0000-4000-8000-" + String(repeating: "0", count: 12 - hex.count) + hex
    }

    func event(_ index: Int) -> EventEnvelope {
        let entity = index % entities
        let occurrence = index / entities
        let timestamp = EventTimestamp(millisecondsSinceEpoch: start.millisecondsSinceEpoch + Int64(index))
        let id = String(format: "%08x-0000-7000-8000-%012x", index, index)
        return EventEnvelope(
            eventID: id, producerService: "team_service", producerServiceID: "5f0c6b1e-0d2a-4c1b-8e3f-7a6b5c4d3e2f",
            traceID: String(format: "%032x", index + 1), timestamp: timestamp,
            eventType: EventType(occurrence == 0 ? "account.created" : "account.updated")!,
            payload: [
                "id": .integer(Int64(entity)), "public_id": .string(entityID(entity)),
                "document_registry": "52998224725", "name": .string("Customer \(entity)"),
                "email": .string("customer\(entity)@example.com"), "team_ids": ["11111111-2222-4333-8444-555555555555"],
            ],
            metadata: EventMetadata(
                ownerID: "6a1f0e2d-3c4b-4a59-8687-9a8b7c6d5e4f", ownerIP: "10.0.0.7", ownerRole: "admin",
                ownerType: .user, ownershipID: entityID(entity), environment: "benchmark"
            )
        )
    }

    func batches(of size: Int) -> some Sequence<Range<Int>> {
        stride(from: 0, to: count, by: size).lazy.map { $0..<min($0 + size, count) }
    }
}

enum Memory {
    /// Peak resident set size in MB since the last reset.
    static func peakResidentMB() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return -1 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kilobytes = line.split(separator: " ").compactMap { Double($0) }.first ?? -1
            return kilobytes / 1024
        }
        return -1
    }

    /// Resets the peak (Linux: writing 5 to clear_refs), so a phase's own peak can be read.
    static func resetPeak() {
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
    }
}

func measure(_ body: () async throws -> Void) async rethrows -> Double {
    let start = ContinuousClock.now
    try await body()
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

func freshDirectory(_ path: String) throws -> String {
    try? FileManager.default.removeItem(atPath: path)
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// The ceiling: the rows ingestion would write, precomputed, inserted with multi-row statements in batches.
func rawInsert(_ source: EventSource, batch: Int, directory: String, logger: Logger) async throws -> Double {
    let store = try await SQLiteStore.open(
        path: directory + "/raw.sqlite", migrations: SQLAuditStore.migrations, logger: logger
    )
    let receivedAt = EventTimestamp.now().rfc3339
    var seconds = 0.0
    for range in source.batches(of: batch) {
        // Building the rows is not timed: the ceiling is the database's insert rate alone.
        let events = range.map(source.event)
        let bodies = events.map { String(decoding: $0.encoded(), as: UTF8.self) }
        seconds += try await measure {
            try await store.transaction { database in
                for chunk in Array(zip(range, zip(events, bodies))).chunked(by: SQLAuditStore.chunkSize) {
                    let eventRows = chunk.map { _, pair -> SQLQueryString in
                        let (event, body) = pair
                        return """
                            (\(bind: event.eventID), \(bind: event.eventType.description), \(bind: event.entityType), \
                            \(bind: event.entityID), \(bind: event.producerService), \(bind: event.traceID), \
                            \(bind: event.metadata.ownershipID), \(bind: event.timestamp.rfc3339), \(bind: receivedAt), \
                            \(bind: body))
                            """
                    }
                    try await database.raw(
                        "INSERT INTO audit_events (event_id, event_type, entity_type, entity_id, producer_service, "
                            + "trace_id, ownership_id, occurred_at, received_at, envelope) VALUES "
                            + eventRows.joined(separator: ", ")
                    ).run()
                    let versionRows = chunk.map { index, pair -> SQLQueryString in
                        let event = pair.0
                        let version = Int64(index / source.entities + 1)
                        let isLast = index + source.entities >= source.count
                        return """
                            (\(bind: event.entityType + "/" + event.entityID), \(bind: event.entityID), \
                            \(bind: event.entityType), \(bind: version), \(bind: version == 1 ? "new" : "update"), \
                            \(bind: event.timestamp.rfc3339), \(bind: isLast), \(bind: event.eventID))
                            """
                    }
                    try await database.raw(
                        "INSERT INTO audit_versions (entity_key, entity_id, entity_type, version, action_type, "
                            + "action_at, is_active, event_id) VALUES " + versionRows.joined(separator: ", ")
                    ).run()
                    let ownershipRows = chunk.map { _, pair -> SQLQueryString in
                        let event = pair.0
                        return """
                            (\(bind: event.metadata.ownershipID), \(bind: event.entityType), \(bind: event.entityID), \
                            \(bind: event.timestamp.rfc3339), \(bind: event.timestamp.rfc3339), \(bind: 1))
                            """
                    }
                    try await database.raw(
                        "INSERT INTO ownerships (ownership_id, subject_entity_type, subject_entity_id, first_seen_at, "
                            + "last_seen_at, event_count) VALUES " + ownershipRows.joined(separator: ", ")
                            + " ON CONFLICT (ownership_id) DO UPDATE SET last_seen_at = excluded.last_seen_at, "
                            + "event_count = ownerships.event_count + 1"
                    ).run()
                    let producerRows = chunk.map { _, pair -> SQLQueryString in
                        "(\(bind: pair.0.metadata.ownershipID), \(bind: pair.0.producerService))"
                    }
                    try await database.raw(
                        "INSERT INTO ownership_producers (ownership_id, producer_service) VALUES "
                            + producerRows.joined(separator: ", ") + " ON CONFLICT DO NOTHING"
                    ).run()
                }
            }
        }
    }
    try await store.close()
    return seconds
}

func auditIngest(_ options: Options) async throws {
    let logger = Logger(label: "biz-bench")
    let source = EventSource(count: options.events)
    let directory = try freshDirectory(options.directory)
    print("audit-ingest: \(source.count) events over \(source.entities) entities, batches of \(options.batch)")

    let busStore = try await SQLiteStore.open(
        path: directory + "/bus.sqlite", migrations: DurableBus.migrations, logger: logger)
    let auditStore = try await SQLiteStore.open(
        path: directory + "/audit.sqlite", migrations: SQLAuditStore.migrations, logger: logger
    )
    let bus = DurableBus(store: busStore)
    let publishSeconds = try await measure {
        for range in source.batches(of: options.batch) {
            try await bus.publish(
                range.map { index in
                    let event = source.event(index)
                    return OutgoingMessage(
                        key: event.entityID, eventID: event.eventID, eventType: event.eventType.description,
                        body: event.encoded()
                    )
                })
        }
    }
    print(
        String(
            format: "  bus publish:            %8.0f events/s  (%.2f s)", Double(source.count) / publishSeconds,
            publishSeconds))

    Memory.resetPeak()
    let consumer = AuditConsumer(store: SQLAuditStore(store: auditStore), deadLetters: bus, logger: logger)
    let subscription = BusSubscription(bus: bus, consumer: consumer, batchSize: options.batch, logger: logger)
    let target = Int64(source.count)
    let ingestSeconds = try await measure {
        try await withThrowingTaskGroup { group in
            group.addTask { try await subscription.run() }
            while try await bus.committedOffset(of: "audit") < target {
                try await Task.sleep(for: .milliseconds(5))
            }
            group.cancelAll()
            try? await group.waitForAll()
        }
    }
    let peak = Memory.peakResidentMB()
    let ingestRate = Double(source.count) / ingestSeconds
    print(
        String(
            format: "  audit ingestion (bus):  %8.0f events/s  (%.2f s), peak RSS %.0f MB", ingestRate, ingestSeconds,
            peak))
    try await busStore.close()
    try await auditStore.close()

    let rawSeconds = try await rawInsert(source, batch: options.batch, directory: directory, logger: logger)
    let rawRate = Double(source.count) / rawSeconds
    print(String(format: "  raw batched insert:     %8.0f events/s  (%.2f s)  <- ceiling", rawRate, rawSeconds))
    print(String(format: "  ingestion / ceiling:    %8.0f %%", 100 * ingestRate / rawRate))
    try? FileManager.default.removeItem(atPath: directory)
}

let arguments = CommandLine.arguments.dropFirst()
// A bad option is named on standard error with exit status 2, not a crash with a backtrace.
do {
    switch arguments.first {
    case "audit-ingest":
        try await auditIngest(try Options(arguments.dropFirst()))
    case "bare-https":
        try await bareHTTPS(arguments.dropFirst())
    case "bare-grpc-hop":
        try await bareGRPCHopHTTPS(arguments.dropFirst())
    case "trivial-grpc":
        try await trivialGRPC(arguments.dropFirst())
    case "inprocess-load":
        try await inProcessLoad(arguments.dropFirst())
    case "grpc-load":
        try await grpcLoad(arguments.dropFirst())
    case "log-shipping":
        try await logShipping(arguments.dropFirst())
    case "otlp-sink":
        try await otlpSink(arguments.dropFirst())
    case "token-verify":
        try await tokenVerifyBench(arguments.dropFirst())
    case "webhook-deliveries":
        try await webhookBench(arguments.dropFirst())
    case "email-deliveries":
        try await emailBench(arguments.dropFirst())
    case "flags":
        try await flagsBench(arguments.dropFirst())
    case "gateway-flags":
        try await gatewayFlagsBench(arguments.dropFirst())
    case "telemetry-parts":
        try await telemetryParts(arguments.dropFirst())
    #if Kafka
        case "kafka-relay":
            try await kafkaRelay(try KafkaBenchOptions(arguments.dropFirst()))
        case "kafka-produce":
            try await kafkaProduce(try KafkaBenchOptions(arguments.dropFirst()))
        case "kafka-audit":
            try await kafkaAudit(try KafkaBenchOptions(arguments.dropFirst()))
    #endif
    default:
        print("usage: biz-bench audit-ingest [--events N] [--batch N] [--dir PATH]")
        print("       biz-bench bare-https [--port N] [--body-bytes N] [--dir PATH]")
        print("       biz-bench bare-grpc-hop [--port N] [--grpc-port N] [--dir PATH]   (with trivial-grpc running)")
        print("       biz-bench trivial-grpc [--port N] [--body-bytes N]")
        print("       biz-bench inprocess-load [--seconds N] [--concurrency N]")
        print("       biz-bench token-verify [--tokens N]")
        print("       biz-bench flags [--evaluations N]")
        print("       biz-bench gateway-flags [--requests N] [--rounds N]")
        print("       biz-bench webhook-deliveries [--deliveries N] [--dir PATH]")
        print("       biz-bench email-deliveries [--emails N] [--dir PATH]   (needs PyPI's aiosmtpd)")
        print("       biz-bench otlp-sink [--port N]")
        print("       biz-bench telemetry-parts [--operations N] [--tasks N] [--otlp URL]")
        print("         (beside biz-bench otlp-sink; standard error to /dev/null)")
        print("       biz-bench log-shipping [--rate N] [--seconds N] [--url ELASTICSEARCH]")
        print("       biz-bench grpc-load --token T --account ID [--port N] [--seconds N] [--concurrency N]")
        print("       biz-bench kafka-relay|kafka-audit [--events N] [--batch N] [--brokers B] [--postgres URL]")
        print("         (built with --traits Kafka; needs kcat)")
    }
} catch let error as BenchError {
    FileHandle.standardError.write(Data("biz-bench: \(error)\n".utf8))
    exit(2)
}
