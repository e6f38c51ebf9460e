import BizMessaging
import Logging
import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#endif

/// Publishes an outbox's pending rows in order, at least once: a row is marked published only after the
/// publisher acknowledged it; failures are retried with backoff, so a full disk or a locked database delays
/// delivery but never loses or skips an event. A row the event log refuses for good (a record too large for the
/// broker) is moved to `outbox_dead_letters` with the reason, so one poison row never stops the rows after it.
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
        // The next batch is read while the current one is published. Reading after the current batch's last row
        // can pass over a row whose transaction committed late with a lower number; it is found when a pass comes
        // back empty and the relay reads from the start again.
        var current: [Outbox.PendingRow] = []
        var restartedPass = false
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            guard let last = current.last else {
                let seen = outbox.signal.generation
                current = try await read(after: 0)
                if current.isEmpty {
                    if !restartedPass {
                        await withGracefulShutdownHandler {
                            await outbox.signal.wait(after: seen, timeout: .seconds(1))
                        } onGracefulShutdown: {
                            outbox.signal.signal()
                        }
                    }
                    restartedPass = false
                }
                continue
            }
            async let next = read(after: last.seq)
            do {
                let refused = try await publish(current)
                if !refused.isEmpty { try await isolate(refused.map { current[$0.index] }) }
                if fault == .killAfterPublish {
                    logger.warning("killing the process between publish and mark-published (test fault)")
                    kill(getpid(), SIGKILL)
                }
                try await Backoff.retrying(logger: logger, what: "mark outbox events published") {
                    try await outbox.markPublished(current.map(\.seq))
                }
            } catch {
                _ = try? await next
                throw error
            }
            current = try await next
            // An empty read ends the pass; the next loop reads from the start without waiting.
            restartedPass = current.isEmpty
        }
    }

    private func publish(_ rows: [Outbox.PendingRow]) async throws -> [RefusedMessage] {
        try await Backoff.retrying(logger: logger, what: "publish outbox events") {
            try await publisher.publish(rows.map(\.message))
        }
    }

    /// Publishes refused rows one at a time, in order (a broker refuses a whole batch for one record in it), and
    /// dead-letters those refused on their own.
    private func isolate(_ rows: [Outbox.PendingRow]) async throws {
        for row in rows {
            guard let refusal = try await publish([row]).first else { continue }
            try await Backoff.retrying(logger: logger, what: "dead-letter a refused outbox event") {
                try await outbox.deadLetter([row], reason: refusal.reason)
            }
            logger.error(
                "the event log refused an event for good; it was moved to outbox_dead_letters",
                metadata: [
                    "event_id": "\(row.message.eventID)", "event_type": "\(row.message.eventType)",
                    "bytes": "\(row.message.body.count)", "reason": "\(refusal.reason)",
                ])
        }
    }

    private func read(after seq: Int64) async throws -> [Outbox.PendingRow] {
        guard fault != .hold else { return [] }
        return try await Backoff.retrying(logger: logger, what: "read the outbox") {
            try await outbox.pending(after: seq, limit: batchSize)
        }
    }
}
