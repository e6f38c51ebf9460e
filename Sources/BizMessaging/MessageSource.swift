/// Where a ``Subscription`` reads: the durable bus (``BusSource``) or a Kafka consumer group (`KafkaSource`).
public protocol MessageSource: Sendable {
    /// What ``commit(_:)`` needs to record that a batch was applied (an offset, the records to mark).
    associatedtype Receipt: Sendable

    /// Prepares to read for `consumer` (the bus reads its committed offset); returns the starting position, for the
    /// log. Called once, before ``next(maximum:)``.
    func start(consumer: String) async throws -> String

    /// At most `maximum` messages after those already returned, oldest first, waiting about a second when there are
    /// none yet; `nil` then.
    func next(maximum: Int) async throws -> (messages: [DeliveredMessage], receipt: Receipt)?

    /// Records that the batch `receipt` came with was applied: it is not delivered to this consumer again.
    func commit(_ receipt: Receipt) async throws

    /// How far behind the log's end the consumer is once `receipt`'s batch is committed, per partition (`0` for the
    /// bus); empty when unknown.
    func lag(after receipt: Receipt) async -> [(partition: String, messages: Int64)]
    /// Ends a wait in ``next(maximum:)`` early (graceful shutdown).
    func wake()

    /// Releases the source when the subscription stops.
    func close() async
}
