/// A message handed to a transport: one event, keyed by its entity so per-entity order holds.
public struct OutgoingMessage: Sendable, Hashable {
    /// The entity's `public_id` (Kafka record key).
    public var key: String
    public var eventID: String
    public var eventType: String
    public var body: [UInt8]
    /// The W3C `traceparent` of the span that wrote the event (Kafka's `traceparent` header), when known: the
    /// consumer's spans continue that trace.
    public var traceParent: String?

    public init(key: String, eventID: String, eventType: String, body: [UInt8], traceParent: String? = nil) {
        self.key = key
        self.eventID = eventID
        self.eventType = eventType
        self.body = body
        self.traceParent = traceParent
    }
}

/// A message as a consumer receives it, with its position in the log.
public struct DeliveredMessage: Sendable, Hashable {
    /// The position in the log the consumer reads (per partition with Kafka).
    public var offset: Int64
    /// Where the message came from, for dead letters: `bus:<offset>`, or `<topic>/<partition>@<offset>` with Kafka.
    public var reference: String
    public var key: String
    public var eventID: String
    public var eventType: String
    public var body: [UInt8]
    /// The `traceparent` it was published with; the subscription replaces it with its consume span's.
    public var traceParent: String?

    public init(
        offset: Int64, key: String, eventID: String, eventType: String, body: [UInt8], reference: String? = nil,
        traceParent: String? = nil
    ) {
        self.offset = offset
        self.reference = reference ?? "bus:\(offset)"
        self.key = key
        self.eventID = eventID
        self.eventType = eventType
        self.body = body
        self.traceParent = traceParent
    }
}

/// Publishes messages durably: when `publish` returns, every message is stored by the transport and will reach
/// each consumer at least once, except those it returns as refused for good (too large for the broker, say), which
/// no retry can deliver. Throwing means the failure is transient and none may be assumed delivered.
public protocol EventPublisher: Sendable {
    func publish(_ messages: [OutgoingMessage]) async throws -> [RefusedMessage]
}

/// A message the transport refused for good, by its position in the published batch. A broker refuses a whole batch
/// for one record in it, so a refused message may be fine on its own: publish it alone to know.
public struct RefusedMessage: Sendable, Hashable {
    public var index: Int
    public var reason: String

    public init(index: Int, reason: String) {
        self.index = index
        self.reason = reason
    }
}

/// Consumes messages in log order, in two stages: `prepare` does the stateless work (parsing, validation) and may
/// run while the previous batch is being applied; `apply` stores the effects. Returning from `apply` commits the
/// consumer's progress past the batch; throwing retries it. Consumers must be idempotent on `eventID`.
public protocol EventConsumer: Sendable {
    associatedtype Prepared: Sendable = [DeliveredMessage]

    /// The consumer's durable identity (its progress is stored under this name).
    var name: String { get }
    func prepare(_ batch: [DeliveredMessage]) async -> Prepared
    func apply(_ prepared: Prepared) async throws
}

extension EventConsumer where Prepared == [DeliveredMessage] {
    public func prepare(_ batch: [DeliveredMessage]) async -> [DeliveredMessage] { batch }
}

extension EventConsumer {
    /// Both stages, one after the other.
    public func handle(_ batch: [DeliveredMessage]) async throws {
        try await apply(await prepare(batch))
    }
}

/// A message that failed validation, kept with the reason instead of being dropped.
public struct DeadLetter: Sendable, Hashable {
    public var id: Int64
    /// The stage that refused it: `publish` or a consumer's name.
    public var source: String
    /// Identifies the message within its source (a log offset), so a redelivered refusal is stored once.
    public var sourceReference: String?
    public var reason: String
    public var body: [UInt8]
    public var receivedAt: String

    public init(
        id: Int64 = 0, source: String, sourceReference: String?, reason: String, body: [UInt8], receivedAt: String
    ) {
        self.id = id
        self.source = source
        self.sourceReference = sourceReference
        self.reason = reason
        self.body = body
        self.receivedAt = receivedAt
    }
}

/// Where refused messages go (`audit.dlq` with Kafka; a table in the embedded bus).
public protocol DeadLetterStore: Sendable {
    func store(_ letters: [DeadLetter]) async throws
    /// Newest first; `before` is an id from an earlier page.
    func list(limit: Int, before: Int64?) async throws -> [DeadLetter]
}

/// A dead-letter store that cannot list what it holds (a Kafka topic: read it with a Kafka consumer).
public struct DeadLetterListingUnsupported: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
