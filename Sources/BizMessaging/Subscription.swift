import BizTelemetry
import Logging
import Metrics
import ServiceLifecycle
import Tracing

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
        /// One `consumer` span per message, ended once the batch is applied.
        var spans: [any Span]
    }

    /// The next batch, prepared; `nil` when the log has nothing newer yet. Each message gets a `consumer` span that
    /// continues the trace it was published in, and carries that span's context to the consumer.
    private func fetchAndPrepare() async throws -> Prepared? {
        let fetched = try await Backoff.retrying(logger: logger, what: "fetch messages") {
            try await source.next(maximum: batchSize)
        }
        guard let fetched, !fetched.messages.isEmpty else { return nil }
        let tracer = InstrumentationSystem.tracer
        var messages = fetched.messages
        var spans: [any Span] = []
        spans.reserveCapacity(messages.count)
        for index in messages.indices {
            let span = tracer.startSpan(
                "consume \(consumer.name)", context: TraceContext.continuing(messages[index].traceParent),
                ofKind: .consumer)
            span.attributes["messaging.message.id"] = messages[index].eventID
            span.attributes["messaging.consumer.group.name"] = consumer.name
            span.attributes["messaging.operation.type"] = "process"
            messages[index].traceParent = TraceContext(of: span.context)?.traceparent ?? messages[index].traceParent
            spans.append(span)
        }
        return Prepared(receipt: fetched.receipt, work: await consumer.prepare(messages), spans: spans)
    }

    private func recordLag(after receipt: Source.Receipt) async {
        for (partition, messages) in await source.lag(after: receipt) {
            Gauge(label: "consumer_lag", dimensions: [("consumer", consumer.name), ("partition", partition)])
                .record(messages)
        }
    }

    public func run() async throws {
        do {
            try await consume()
        } catch let stopped as Backoff.StoppedByShutdown {
            // The batch was not committed: it is delivered again at the next start.
            logger.warning(
                "consumer stopped at shutdown before its batch was committed; it is delivered again at the next start",
                metadata: ["consumer": "\(consumer.name)", "error": "\(stopped)"])
        } catch let failure as any Backoff.Unrecoverable {
            logger.critical(
                "consumer failed for good; the process stops so that it is started again",
                metadata: ["consumer": "\(consumer.name)", "error": "\(failure)"])
            throw failure
        }
    }

    private func consume() async throws {
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
                for span in batch.spans { span.end() }
                await recordLag(after: batch.receipt)
            } catch {
                for span in batch.spans {
                    span.recordError(error)
                    span.end()
                }
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
