import Logging
import ServiceLifecycle

/// Runs one consumer over an event log, the same loop for the durable bus and Kafka: reads a batch, prepares it,
/// applies it, and only then commits it, so a crash redelivers rather than loses. The next batch is read and prepared
/// while the current one is applied (the log is append-only and preparing is stateless). A failing batch is retried
/// with backoff, never skipped.
public struct Subscription<Source: MessageSource, Consumer: EventConsumer>: Service {
    public var source: Source
    public var consumer: Consumer
    public var batchSize: Int
    public var logger: Logger

    public init(source: Source, consumer: Consumer, batchSize: Int = 1000, logger: Logger) {
        self.source = source
        self.consumer = consumer
        self.batchSize = batchSize
        self.logger = logger
    }

    private struct Prepared: Sendable {
        var receipt: Source.Receipt
        var work: Consumer.Prepared
    }

    /// The next batch, prepared; `nil` when the log has nothing newer yet.
    private func fetchAndPrepare() async throws -> Prepared? {
        let fetched = try await Backoff.retrying(logger: logger, what: "fetch messages") {
            try await source.next(maximum: batchSize)
        }
        guard let fetched, !fetched.messages.isEmpty else { return nil }
        return Prepared(receipt: fetched.receipt, work: await consumer.prepare(fetched.messages))
    }

    public func run() async throws {
        let position = try await Backoff.retrying(logger: logger, what: "start the consumer") {
            try await source.start(consumer: consumer.name)
        }
        logger.info("consumer started", metadata: ["consumer": "\(consumer.name)", "position": "\(position)"])
        var current: Prepared?
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            guard let batch = current else {
                current = try await withGracefulShutdownHandler {
                    try await fetchAndPrepare()
                } onGracefulShutdown: {
                    source.wake()
                }
                continue
            }
            async let next = fetchAndPrepare()
            do {
                try await Backoff.retrying(logger: logger, what: "apply a batch") {
                    try await consumer.apply(batch.work)
                }
                try await Backoff.retrying(logger: logger, what: "commit the batch") {
                    try await source.commit(batch.receipt)
                }
            } catch {
                _ = try? await next
                await source.close()
                throw error
            }
            current = try await next
        }
        await source.close()
        logger.info("consumer stopped", metadata: ["consumer": "\(consumer.name)"])
    }
}

/// The durable bus's subscription.
public typealias BusSubscription<Consumer: EventConsumer> = Subscription<BusSource, Consumer>

extension Subscription where Source == BusSource {
    public init(bus: DurableBus, consumer: Consumer, batchSize: Int = 1000, logger: Logger) {
        self.init(source: BusSource(bus: bus), consumer: consumer, batchSize: batchSize, logger: logger)
    }
}
