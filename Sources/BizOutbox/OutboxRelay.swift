import BizEvents
import BizMessaging
import BizTelemetry
import Logging
import Metrics
import ServiceLifecycle
import Tracing

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
    /// Names the outbox in metrics (the service that owns it).
    public var name: String
    private let publishedCounter = Counter(label: "outbox_published_total")
    private let deadLetterCounter = Counter(label: "dead_letters_total", dimensions: [("stage", "outbox")])

    public init(
        outbox: Outbox, publisher: any EventPublisher, batchSize: Int = 500, fault: Fault? = nil,
        name: String = "outbox", logger: Logger
    ) {
        self.name = name
        self.outbox = outbox
        self.publisher = publisher
        self.batchSize = batchSize
        self.fault = fault
        self.logger = logger
    }

    public func run() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await measureBacklog() }
            do {
                try await relay()
            } catch let stopped as Backoff.StoppedByShutdown {
                // The rows stay pending (or published but unmarked, to be published again): nothing is lost.
                logger.warning(
                    "outbox relay stopped at shutdown with events still pending; they are published at the next start",
                    metadata: ["outbox": "\(name)", "error": "\(stopped)"])
            }
            group.cancelAll()
        }
    }

    /// `outbox_pending` and `outbox_oldest_pending_age_seconds` for this outbox, every few seconds.
    private func measureBacklog() async {
        let pending = Gauge(label: "outbox_pending", dimensions: [("outbox", name)])
        let age = Gauge(label: "outbox_oldest_pending_age_seconds", dimensions: [("outbox", name)])
        while !Task.isCancelled {
            if let backlog = try? await outbox.backlog() {
                pending.record(backlog.pending)
                let now = EventTimestamp.now().millisecondsSinceEpoch
                age.record(Double(max(0, now - (backlog.oldest?.millisecondsSinceEpoch ?? now))) / 1_000)
            }
            try? await Task.sleep(for: .seconds(5))
        }
    }

    private func relay() async throws {
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

    /// Publishes `rows`, each in a `producer` span that continues the trace stored with the row; the span's context
    /// travels with the message (Kafka's `traceparent` header, the bus's column).
    private func publish(_ rows: [Outbox.PendingRow]) async throws -> [RefusedMessage] {
        let tracer = InstrumentationSystem.tracer
        var spans: [any Span] = []
        spans.reserveCapacity(rows.count)
        var messages = rows.map(\.message)
        for index in messages.indices {
            let span = tracer.startSpan(
                "outbox.publish", context: TraceContext.continuing(messages[index].traceParent), ofKind: .producer)
            span.attributes["messaging.message.id"] = messages[index].eventID
            span.attributes["messaging.operation.type"] = "send"
            messages[index].traceParent = TraceContext(of: span.context)?.traceparent ?? messages[index].traceParent
            spans.append(span)
        }
        do {
            let refused = try await Backoff.retrying(logger: logger, what: "publish outbox events") {
                try await publisher.publish(messages)
            }
            for refusal in refused where refusal.index < spans.count {
                spans[refusal.index].setStatus(SpanStatus(code: .error, message: refusal.reason))
            }
            for span in spans { span.end() }
            publishedCounter.increment(by: rows.count - refused.count)
            return refused
        } catch {
            for span in spans {
                span.recordError(error)
                span.end()
            }
            throw error
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
            deadLetterCounter.increment()
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
