import Logging
import ServiceLifecycle

/// Runs one consumer over the durable bus: fetches batches after its committed offset, hands them over, and
/// commits the offset only after the consumer returned. A failing batch is retried with backoff, never skipped.
public struct BusSubscription<Consumer: EventConsumer>: Service {
    public var bus: DurableBus
    public var consumer: Consumer
    public var batchSize: Int
    public var logger: Logger

    public init(bus: DurableBus, consumer: Consumer, batchSize: Int = 1000, logger: Logger) {
        self.bus = bus
        self.consumer = consumer
        self.batchSize = batchSize
        self.logger = logger
    }

    private struct Prepared: Sendable {
        var lastOffset: Int64
        var work: Consumer.Prepared
    }

    /// The next batch after `offset`, prepared; `nil` when the log has nothing newer.
    private func fetchAndPrepare(after offset: Int64) async throws -> Prepared? {
        let batch = try await Backoff.retrying(logger: logger, what: "fetch messages") {
            try await bus.fetch(after: offset, limit: batchSize)
        }
        guard let last = batch.last else { return nil }
        return Prepared(lastOffset: last.offset, work: await consumer.prepare(batch))
    }

    public func run() async throws {
        var offset = try await Backoff.retrying(logger: logger, what: "read the consumer offset") {
            try await bus.committedOffset(of: consumer.name)
        }
        logger.info("consumer started", metadata: ["consumer": "\(consumer.name)", "offset": "\(offset)"])
        var current: Prepared?
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            guard let batch = current else {
                let seen = bus.signal.generation
                current = try await fetchAndPrepare(after: offset)
                if current == nil {
                    await withGracefulShutdownHandler {
                        await bus.signal.wait(after: seen, timeout: .seconds(1))
                    } onGracefulShutdown: {
                        bus.signal.signal()
                    }
                }
                continue
            }
            // Fetch and prepare the next batch while this one is applied: the log is append-only, so what follows
            // this batch cannot change, and preparing is stateless.
            async let next = fetchAndPrepare(after: batch.lastOffset)
            try await Backoff.retrying(logger: logger, what: "apply a batch") {
                try await consumer.apply(batch.work)
            }
            try await Backoff.retrying(logger: logger, what: "commit the consumer offset") {
                try await bus.commit(offset: batch.lastOffset, of: consumer.name)
            }
            offset = batch.lastOffset
            current = try await next
        }
        logger.info("consumer stopped", metadata: ["consumer": "\(consumer.name)", "offset": "\(offset)"])
    }
}

/// Exponential backoff for transient failures: 50 ms doubling up to 5 s, until it succeeds or the task is cancelled.
public enum Backoff {
    public static func retrying<T: Sendable>(
        logger: Logger, what: String, initial: Duration = .milliseconds(50), maximum: Duration = .seconds(5),
        _ body: () async throws -> T
    ) async throws -> T {
        var delay = initial
        var attempt = 1
        while true {
            do {
                return try await body()
            } catch {
                if Task.isCancelled { throw CancellationError() }
                logger.warning(
                    "retrying after a failure",
                    metadata: ["operation": "\(what)", "attempt": "\(attempt)", "error": "\(error)"]
                )
                try await Task.sleep(for: delay)
                delay = min(delay * 2, maximum)
                attempt += 1
            }
        }
    }
}
