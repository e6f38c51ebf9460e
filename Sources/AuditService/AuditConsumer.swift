import BizAWS
import BizEvents
import BizMessaging
import BizStorage
import BizTelemetry
import Logging
import Metrics
import Tracing

/// Consumes every event from the bus into the audit store. Invalid events go to the dead-letter store with the
/// reason; valid ones are stored idempotently, so a redelivered batch changes nothing. An event the store refuses
/// for good (an item over DynamoDB's 400 KB, a NUL character for PostgreSQL) is dead-lettered too, while the rest
/// of its batch is stored; a store that is down is retried.
public struct AuditConsumer: EventConsumer {
    public let name: String
    public var store: any AuditStore
    public var deadLetters: any DeadLetterStore
    public var registry: EventTypeRegistry
    public var logger: Logger
    private let storedCounter = Counter(label: "audit_events_stored_total")
    private let deadLetterCounter = Counter(label: "dead_letters_total", dimensions: [("stage", "audit")])

    public init(
        name: String = "audit", store: any AuditStore, deadLetters: any DeadLetterStore,
        registry: EventTypeRegistry = .standard, logger: Logger
    ) {
        self.name = name
        self.store = store
        self.deadLetters = deadLetters
        self.registry = registry
        self.logger = logger
    }

    /// A batch after validation: what to store, and what to dead-letter.
    public struct Prepared: Sendable {
        public var records: [AuditRecord]
        /// The message each record came from, for a dead letter if the store refuses it.
        public var origins: [DeliveredMessage]
        public var rejected: [DeadLetter]
    }

    public func prepare(_ batch: [DeliveredMessage]) async -> Prepared {
        await Self.prepare(batch, registry: registry, source: name)
    }

    public func apply(_ prepared: Prepared) async throws {
        try await deadLetter(prepared.rejected)
        // One span per event, in the trace its message carries (the consume span's child): the batch is one write,
        // but each event's trace shows where it was stored.
        let tracer = InstrumentationSystem.tracer
        let spans = prepared.origins.map { origin in
            let span = tracer.startSpan(
                "audit.store", context: TraceContext.continuing(origin.traceParent), ofKind: .internal)
            span.attributes["event.id"] = origin.eventID
            return span
        }
        let report: IngestReport
        do {
            do {
                report = try await store.ingest(prepared.records)
            } catch  where Self.refusesData(error) {
                // One event the store cannot hold fails the whole batch: store them one at a time, in order.
                report = try await isolate(prepared)
            }
        } catch {
            for span in spans {
                span.recordError(error)
                span.end()
            }
            throw error
        }
        if logger.logLevel <= .debug {
            for (span, origin) in zip(spans, prepared.origins) {
                ServiceContext.withValue(span.context) {
                    logger.debug(
                        "event stored",
                        metadata: ["event_id": "\(origin.eventID)", "event_type": "\(origin.eventType)"])
                }
            }
        }
        for span in spans { span.end() }
        storedCounter.increment(by: report.stored)
        if report.duplicates > 0 {
            logger.debug("redelivered events ignored", metadata: ["count": "\(report.duplicates)"])
        }
    }

    private func isolate(_ prepared: Prepared) async throws -> IngestReport {
        var total = IngestReport()
        for (record, origin) in zip(prepared.records, prepared.origins) {
            do {
                let report = try await store.ingest([record])
                total.stored += report.stored
                total.duplicates += report.duplicates
            } catch  where Self.refusesData(error) {
                try await deadLetter([
                    DeadLetter(
                        source: name, sourceReference: origin.reference,
                        reason: "the audit store cannot hold this event: \(error)", body: origin.body,
                        receivedAt: EventTimestamp.now().rfc3339)
                ])
            }
        }
        return total
    }

    private func deadLetter(_ letters: [DeadLetter]) async throws {
        guard !letters.isEmpty else { return }
        try await deadLetters.store(letters)
        deadLetterCounter.increment(by: letters.count)
        for letter in letters {
            logger.warning(
                "event refused",
                metadata: [
                    "consumer": "\(name)", "reference": "\(letter.sourceReference ?? "")", "reason": "\(letter.reason)",
                ]
            )
        }
    }

    /// Whether the store refused the data itself, so that retrying the same event can never succeed.
    static func refusesData(_ error: any Error) -> Bool {
        switch error {
        case let error as StorageError: error.code == .invalidData
        case let error as DynamoDBError: error.refusesData
        default: false
        }
    }

    /// Validates and canonically encodes a batch, in parallel for large batches (parsing and encoding dominate the
    /// CPU cost of ingestion), keeping log order.
    static func prepare(_ batch: [DeliveredMessage], registry: EventTypeRegistry, source: String) async -> Prepared {
        let options = EventEnvelope.DecodingOptions(registry: registry)
        let slices = batch.count >= 256 ? batch.chunked(by: (batch.count + 1) / 2) : [batch[...]]
        let results = await withTaskGroup(of: (Int, [Result<AuditRecord, EnvelopeValidationError>]).self) { group in
            for (position, slice) in slices.enumerated() {
                group.addTask {
                    let decoded = slice.map { message in
                        Result { () throws(EnvelopeValidationError) in
                            AuditRecord(try EventEnvelope.decode(message.body, options: options), registry: registry)
                        }
                    }
                    return (position, decoded)
                }
            }
            var ordered = [[Result<AuditRecord, EnvelopeValidationError>]](repeating: [], count: slices.count)
            for await (position, decoded) in group { ordered[position] = decoded }
            return ordered.flatMap { $0 }
        }
        var prepared = Prepared(records: [], origins: [], rejected: [])
        prepared.records.reserveCapacity(batch.count)
        prepared.origins.reserveCapacity(batch.count)
        let now = EventTimestamp.now().rfc3339
        for (message, result) in zip(batch, results) {
            switch result {
            case .success(let record):
                prepared.records.append(record)
                prepared.origins.append(message)
            case .failure(let error):
                prepared.rejected.append(
                    DeadLetter(
                        source: source, sourceReference: message.reference, reason: error.description,
                        body: message.body, receivedAt: now
                    )
                )
            }
        }
        return prepared
    }
}
