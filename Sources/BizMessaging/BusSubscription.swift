import Logging
import ServiceLifecycle

/// Runs one consumer over the durable bus: fetches batches after its committed offset, hands them over, and
/// commits the offset only after the consumer returned. A failing batch is retried with backoff, never skipped.
public struct BusSubscription: Service {
    public var bus: DurableBus
    public var consumer: any EventConsumer
    public var batchSize: Int
    public var logger: Logger

    public init(bus: DurableBus, consumer: any EventConsumer, batchSize: Int = 1000, logger: Logger) {
        self.bus = bus
        self.consumer = consumer
        self.batchSize = batchSize
        self.logger = logger
    }

    private func fetch(after offset: Int64) async throws -> [DeliveredMessage] {
        try await Backoff.retrying(logger: logger, what: "fetch messages") {
            try await bus.fetch(after: offset, limit: batchSize)
        }
    }

    public func run() async throws {
        var offset = try await Backoff.retrying(logger: logger, what: "read the consumer offset") {
            try await bus.committedOffset(of: consumer.name)
        }
        logger.info("consumer started", metadata: ["consumer": "\(consumer.name)", "offset": "\(offset)"])
        var batch: [DeliveredMessage] = []
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            guard let last = batch.last else {
                let seen = bus.signal.generation
                batch = try await fetch(after: offset)
                if batch.isEmpty {
                    await withGracefulShutdownHandler {
                        await bus.signal.wait(after: seen, timeout: .seconds(1))
                    } onGracefulShutdown: {
                        bus.signal.signal()
                    }
                }
                continue
            }
            // Read the next batch while this one is handled: the log is append-only, so it cannot change under us.
            async let next = fetch(after: last.offset)
            try await Backoff.retrying(logger: logger, what: "handle a batch") {
                try await consumer.handle(batch)
            }
            try await Backoff.retrying(logger: logger, what: "commit the consumer offset") {
                try await bus.commit(offset: last.offset, of: consumer.name)
            }
            offset = last.offset
            batch = try await next
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
