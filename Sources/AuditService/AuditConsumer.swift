import BizEvents
import BizMessaging
import BizStorage
import Logging

/// Consumes every event from the bus into the audit store. Invalid events go to the dead-letter store with the
/// reason; valid ones are stored idempotently, so a redelivered batch changes nothing.
public struct AuditConsumer: EventConsumer {
    public let name: String
    public var store: any AuditStore
    public var deadLetters: any DeadLetterStore
    public var registry: EventTypeRegistry
    public var logger: Logger

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

    public func handle(_ batch: [DeliveredMessage]) async throws {
        let (valid, rejected) = await Self.decode(batch, registry: registry, source: name)
        if !rejected.isEmpty {
            try await deadLetters.store(rejected)
            for letter in rejected {
                logger.warning(
                    "event refused",
                    metadata: ["consumer": "\(name)", "reference": "\(letter.sourceReference ?? "")", "reason": "\(letter.reason)"]
                )
            }
        }
        let report = try await store.ingest(valid)
        if report.duplicates > 0 {
            logger.debug("redelivered events ignored", metadata: ["count": "\(report.duplicates)"])
        }
    }

    /// Validates a batch, in parallel for large batches (parsing dominates ingestion cost), keeping log order.
    static func decode(
        _ batch: [DeliveredMessage], registry: EventTypeRegistry, source: String
    ) async -> ([EventEnvelope], [DeadLetter]) {
        let options = EventEnvelope.DecodingOptions(registry: registry)
        let slices = batch.count >= 256 ? batch.chunked(by: (batch.count + 1) / 2) : [batch[...]]
        let results = await withTaskGroup(of: (Int, [Result<EventEnvelope, EnvelopeValidationError>]).self) { group in
            for (position, slice) in slices.enumerated() {
                group.addTask {
                    (position, slice.map { message in Result { () throws(EnvelopeValidationError) in
                        try EventEnvelope.decode(message.body, options: options)
                    } })
                }
            }
            var ordered = [[Result<EventEnvelope, EnvelopeValidationError>]](repeating: [], count: slices.count)
            for await (position, decoded) in group { ordered[position] = decoded }
            return ordered.flatMap { $0 }
        }
        var valid: [EventEnvelope] = []
        valid.reserveCapacity(batch.count)
        var rejected: [DeadLetter] = []
        let now = EventTimestamp.now().rfc3339
        for (message, result) in zip(batch, results) {
            switch result {
            case .success(let envelope): valid.append(envelope)
            case .failure(let error):
                rejected.append(
                    DeadLetter(
                        source: source, sourceReference: "bus:\(message.offset)", reason: error.description,
                        body: message.body, receivedAt: now
                    )
                )
            }
        }
        return (valid, rejected)
    }
}
