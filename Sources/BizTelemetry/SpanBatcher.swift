import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// Where batches of ended spans go (OTLP over gRPC or HTTP, or a test's memory).
public protocol SpanExporter: Sendable {
    func export(_ spans: [FinishedSpan]) async throws
    func shutdown() async
}

/// An exporter of OTLP's encoding, whose spans the batcher encodes as they end (``OTLPEncoder/append(_:to:)``)
/// rather than keeping them until the export: no span outlives its request, and a batch is one buffer.
protocol EncodedSpanExporter: SpanExporter {
    /// `spans`: `count` spans, each a `ScopeSpans.spans` field, back to back.
    func export(encoded spans: [UInt8], count: Int) async throws
}

/// The batch span processor: ended spans are appended to a bounded buffer under one lock (already in OTLP's encoding
/// when the exporter is an ``EncodedSpanExporter``), and a service exports them in batches — when a batch is full or
/// every `scheduleDelay` — so a request never waits on an export. Spans that find the buffer full are dropped and
/// counted (`spans_dropped_total`), never blocked on.
public final class SpanBatcher: Service, Sendable {
    /// The standard `OTEL_BSP_*` settings (defaults sized for a busy gateway rather than the specification's 2,048
    /// spans every 5 s, which drops most spans of a few thousand requests a second).
    public struct Settings: Sendable, Equatable {
        /// `OTEL_BSP_SCHEDULE_DELAY` (ms).
        public var scheduleDelay: Duration = .milliseconds(1_000)
        /// `OTEL_BSP_EXPORT_TIMEOUT` (ms).
        public var exportTimeout: Duration = .seconds(30)
        /// `OTEL_BSP_MAX_QUEUE_SIZE`.
        public var maxQueueSize = 65_536
        /// `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`.
        public var maxExportBatchSize = 512

        public init() {}
    }

    private struct Buffer {
        var spans: [FinishedSpan] = []
        /// With an ``EncodedSpanExporter``: the spans' bytes, and where each one ends.
        var encoded = Encoded()
        /// The encoded buffers of the last export, emptied, kept for their capacity.
        var spare = Encoded()
        var count = 0
        var dropped = 0
    }

    private struct Encoded {
        var bytes: [UInt8] = []
        var ends: [Int] = []

        mutating func empty() {
            bytes.removeAll(keepingCapacity: true)
            ends.removeAll(keepingCapacity: true)
        }
    }

    public let settings: Settings
    private let exporter: any SpanExporter
    private let encoder: (any EncodedSpanExporter)?
    private let logger: Logger
    private let buffer = Mutex(Buffer())
    private let wakes: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    // Made at each (rare) use, not with the batcher: the batcher exists before the process's metrics system is
    // bootstrapped, and an instrument made then would count into nothing for good.
    private var droppedCounter: Counter { Counter(label: "spans_dropped_total") }
    private var exportedCounter: Counter { Counter(label: "spans_exported_total") }
    private var failedCounter: Counter { Counter(label: "spans_export_failed_total") }

    /// `logger` reports export trouble (at most once per failing period), never through a span.
    public init(exporter: any SpanExporter, settings: Settings = .init(), logger: Logger) {
        self.exporter = exporter
        self.encoder = exporter as? any EncodedSpanExporter
        self.settings = settings
        self.logger = logger
        (wakes, wake) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Keeps `span` for the next export; drops it when the buffer is full.
    func add(_ span: FinishedSpan) {
        // Encoded straight into the batch under the lock (a fraction of a microsecond: no copy, no buffer per span).
        let encodes = encoder != nil
        let batchFull = buffer.withLock { buffer -> Bool in
            guard buffer.count < settings.maxQueueSize else {
                buffer.dropped += 1
                return false
            }
            if encodes {
                OTLPEncoder.append(span, to: &buffer.encoded.bytes)
                buffer.encoded.ends.append(buffer.encoded.bytes.count)
            } else {
                buffer.spans.append(span)
            }
            buffer.count += 1
            return buffer.count == settings.maxExportBatchSize
        }
        if batchFull { wake.yield() }
    }

    /// Exports what is buffered now, without waiting for the schedule.
    func flush() { wake.yield() }

    /// Spans waiting for an export.
    public var pending: Int { buffer.withLock { $0.count } }

    /// Takes every buffered span (what an export would send).
    func takeAll() -> [FinishedSpan] {
        buffer.withLock { buffer in
            defer {
                buffer.spans = []
                buffer.count = 0
            }
            return buffer.spans
        }
    }

    public func run() async throws {
        // The counters exist (at 0) from the start, for alerts on them; the metrics system is bootstrapped by now.
        _ = (droppedCounter, exportedCounter, failedCounter)
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { [wake, settings] in
                    while !Task.isCancelled {
                        try? await Task.sleep(for: settings.scheduleDelay)
                        wake.yield()
                    }
                }
                for await _ in wakes { await exportBuffered() }
                group.cancelAll()
            }
        } onGracefulShutdown: {
            self.wake.finish()
        }
        // What ended before shutdown is still exported (bounded by the export timeout).
        await exportBuffered()
        await exporter.shutdown()
    }

    private func exportBuffered() async {
        let (taken, encoded, dropped) = buffer.withLock { buffer in
            let taken = (buffer.spans, buffer.encoded, buffer.dropped)
            // The next period's buffer at once at this one's size, rather than grown by doublings under the lock;
            // encoded spans go into the last export's buffers, whose capacity is kept.
            buffer.spans = []
            buffer.spans.reserveCapacity(min(taken.0.count, settings.maxQueueSize))
            buffer.encoded = buffer.spare
            buffer.spare = Encoded()
            buffer.count = 0
            buffer.dropped = 0
            return taken
        }
        if dropped > 0 {
            droppedCounter.increment(by: dropped)
            logger.warning(
                "spans dropped: the export buffer was full",
                metadata: ["dropped": "\(dropped)", "max_queue_size": "\(settings.maxQueueSize)"])
        }
        if let encoder {
            await export(encoded, to: encoder)
        } else {
            await export(taken)
        }
    }

    private func export(_ taken: [FinishedSpan]) async {
        // Usually one batch (a batch is exported as soon as it is full): passed on as it is, without a copy.
        let batches =
            taken.count <= settings.maxExportBatchSize
            ? [taken]
            : stride(from: 0, to: taken.count, by: settings.maxExportBatchSize).map { start in
                Array(taken[start..<min(start + settings.maxExportBatchSize, taken.count)])
            }
        for batch in batches where !batch.isEmpty {
            await export(count: batch.count) { [exporter] in try await exporter.export(batch) }
        }
    }

    private func export(_ taken: Encoded, to encoder: any EncodedSpanExporter) async {
        var taken = taken
        let size = settings.maxExportBatchSize
        if taken.ends.count <= size {
            if !taken.ends.isEmpty {
                await export(count: taken.ends.count) { [taken] in
                    try await encoder.export(encoded: taken.bytes, count: taken.ends.count)
                }
            }
        } else {
            // More than a batch (the exports fell behind): split where spans end.
            var start = 0
            for first in stride(from: 0, to: taken.ends.count, by: size) {
                let last = min(first + size, taken.ends.count) - 1
                let batch = Array(taken.bytes[start..<taken.ends[last]])
                start = taken.ends[last]
                await export(count: last - first + 1) {
                    try await encoder.export(encoded: batch, count: last - first + 1)
                }
            }
        }
        // Unique again once the export let go of it: emptied, its capacity serves a later period.
        taken.empty()
        buffer.withLock { $0.spare = taken }
    }

    private func export(count: Int, _ body: @escaping @Sendable () async throws -> Void) async {
        do {
            try await withTimeout(settings.exportTimeout, body)
            exportedCounter.increment(by: count)
        } catch {
            failedCounter.increment(by: count)
            logger.warning(
                "span export failed",
                metadata: ["spans": "\(count)", "error": "\(String(describing: error))"])
        }
    }
}

/// The export took longer than its timeout.
struct ExportTimeout: Error, CustomStringConvertible {
    var description: String { "the export timed out" }
}

func withTimeout<T: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            throw ExportTimeout()
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}
