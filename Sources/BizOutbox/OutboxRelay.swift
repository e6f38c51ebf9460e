import BizMessaging
import Logging
import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#endif

/// Publishes an outbox's pending rows in order, at least once: a row is marked published only after the
/// publisher acknowledged it; failures are retried with backoff, so a full disk or a locked database delays
/// delivery but never loses or skips an event.
public struct OutboxRelay: Service {
    /// Test-only faults, to prove the guarantees with a real process (set through `BIZ_TEST_RELAY_FAULT`).
    public enum Fault: String, Sendable {
        /// Never publish: rows stay pending, as if the process died right after the commit.
        case hold
        /// Kill the process with SIGKILL after publishing a batch and before marking it published.
        case killAfterPublish = "kill-after-publish"
    }

    public var outbox: Outbox
    public var publisher: any EventPublisher
    public var batchSize: Int
    public var fault: Fault?
    public var logger: Logger

    public init(
        outbox: Outbox, publisher: any EventPublisher, batchSize: Int = 500, fault: Fault? = nil, logger: Logger
    ) {
        self.outbox = outbox
        self.publisher = publisher
        self.batchSize = batchSize
        self.fault = fault
        self.logger = logger
    }

    public func run() async throws {
        if let fault { logger.warning("outbox relay fault injection is on", metadata: ["fault": "\(fault.rawValue)"]) }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let seen = outbox.signal.generation
            let rows =
                fault == .hold
                ? []
                : try await Backoff.retrying(logger: logger, what: "read the outbox") {
                    try await outbox.pending(limit: batchSize)
                }
            if rows.isEmpty {
                await withGracefulShutdownHandler {
                    await outbox.signal.wait(after: seen, timeout: .seconds(1))
                } onGracefulShutdown: {
                    outbox.signal.signal()
                }
                continue
            }
            try await Backoff.retrying(logger: logger, what: "publish outbox events") {
                try await publisher.publish(rows.map(\.message))
            }
            if fault == .killAfterPublish {
                logger.warning("killing the process between publish and mark-published (test fault)")
                kill(getpid(), SIGKILL)
            }
            try await Backoff.retrying(logger: logger, what: "mark outbox events published") {
                try await outbox.markPublished(rows.map(\.seq))
            }
        }
    }
}
