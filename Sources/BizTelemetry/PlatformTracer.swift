import Instrumentation
import ServiceContextModule
import Synchronization
import Tracing

#if canImport(Glibc)
    import Glibc
#endif

/// The platform's tracer: W3C trace context in and out, spans that end straight into a ``SpanBatcher`` (one lock,
/// no task hop), exported over OTLP by the batcher's service.
///
/// Written instead of swift-otel's tracer, which hands every span start and end through two `AsyncStream`s and an
/// actor before it reaches its batch (three task wake-ups per span; Benchmarks/README.md has both measured).
/// `biz-bench telemetry-parts` measures what a span of this tracer costs.
public final class PlatformTracer: Tracer, Sendable {
    public typealias Span = RecordingSpan

    let sampler: Sampler
    let batcher: SpanBatcher?

    /// Spans are sampled by `sampler` and, when sampled, ended into `batcher` (none: the decision is propagated,
    /// nothing is kept).
    public init(sampler: Sampler, batcher: SpanBatcher?) {
        self.sampler = sampler
        self.batcher = batcher
    }

    /// The process's tracer once ``bootstrap(_:)`` ran; `nil` while tracing is off. The hot paths (every request and
    /// call) start their spans through it: `InstrumentationSystem.tracer` takes a lock and casts an existential on
    /// every read, and the protocol's generic entry points add a generic instant and a boxed span.
    ///
    /// An atomic load, not a lock: read by every request on every core, a lock's word would move from core to core.
    public static var shared: PlatformTracer? {
        let address = installed.load(ordering: .acquiring)
        guard address != 0, let pointer = UnsafeRawPointer(bitPattern: address) else { return nil }
        return Unmanaged<PlatformTracer>.fromOpaque(pointer).takeUnretainedValue()
    }
    /// The installed tracer's address, retained for the life of the process (`0`: none).
    private static let installed = Atomic<UInt>(0)

    /// Installs `tracer` as swift-distributed-tracing's instrument and as ``shared``; once per process (the
    /// instrument refuses a second bootstrap).
    public static func bootstrap(_ tracer: PlatformTracer) {
        InstrumentationSystem.bootstrap(tracer)
        installed.store(UInt(bitPattern: Unmanaged.passRetained(tracer).toOpaque()), ordering: .releasing)
    }

    /// A span starting now, the child of `context`'s span (or a new trace's root).
    public func start(_ operationName: String, context: ServiceContext, kind: SpanKind) -> RecordingSpan {
        start(operationName, context: context, continuing: nil, kind: kind)
    }

    /// A span starting now in `context`, the child of `remote` (a caller's span from its `traceparent`) when there
    /// is one, else of `context`'s span: what a server does with a request, in one change of the context.
    ///
    /// A `context` without a span stands for the task's: the span is the child of the one
    /// ``RecordingSpan/withContext(of:_:)`` bound on its own, if any (so `withSpan` inside a request's span, which
    /// passes `ServiceContext.current ?? .topLevel`, starts a child of it).
    public func start(
        _ operationName: String, context: ServiceContext, continuing remote: SpanContext?, kind: SpanKind
    ) -> RecordingSpan {
        start(operationName, context: context, parent: remote ?? context.spanContext, kind: kind, at: Self.now())
    }

    /// Nanoseconds since the epoch (what OTLP exports).
    static func now() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }

    public func startSpan<Instant: TracerInstant>(
        _ operationName: String, context: @autoclosure () -> ServiceContext, ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant, function: String, file fileID: String, line: UInt
    ) -> RecordingSpan {
        let context = context()
        return start(
            operationName, context: context, parent: context.spanContext, kind: kind,
            at: instant().nanosecondsSinceEpoch)
    }

    /// `parent`: the caller's or the context's span; without one, the span bound on its own, if any.
    private func start(
        _ operationName: String, context: ServiceContext, parent: SpanContext?, kind: SpanKind, at start: UInt64
    ) -> RecordingSpan {
        let parent = parent ?? SpanContext.bound
        let traceID = parent?.traceID ?? SpanContext.randomTraceID()
        let sampled = sampler.samples(traceID: traceID, parent: parent)
        let spanContext = SpanContext(
            traceID: traceID, spanID: SpanContext.randomSpanID(), parentSpanID: parent?.spanID, sampled: sampled,
            isRemote: false, traceState: parent?.traceState)
        return RecordingSpan(
            name: operationName, kind: kind, context: context, spanContext: spanContext, start: start,
            batcher: sampled ? batcher : nil)
    }

    public func forceFlush() { batcher?.flush() }

    public func extract<Carrier, Extract: Extractor>(
        _ carrier: Carrier, into context: inout ServiceContext, using extractor: Extract
    ) where Extract.Carrier == Carrier {
        guard let header = extractor.extract(key: TraceContext.header, from: carrier),
            let remote = SpanContext(
                traceparent: header, traceState: extractor.extract(key: Self.traceStateHeader, from: carrier))
        else { return }
        context.spanContext = remote
    }

    public func inject<Carrier, Inject: Injector>(
        _ context: ServiceContext, into carrier: inout Carrier, using injector: Inject
    ) where Inject.Carrier == Carrier {
        guard let spanContext = context.spanContext else { return }
        injector.inject(spanContext.traceparent, forKey: TraceContext.header, into: &carrier)
        if let state = spanContext.traceState {
            injector.inject(state, forKey: Self.traceStateHeader, into: &carrier)
        }
    }

    static let traceStateHeader = "tracestate"
}

/// Which traces are recorded: `OTEL_TRACES_SAMPLER` (`always_on`, `always_off`, `traceidratio`, and their
/// `parentbased_` forms, the default being `parentbased_always_on`) with `OTEL_TRACES_SAMPLER_ARG` as the ratio.
public struct Sampler: Sendable, Equatable {
    public enum Root: Sendable, Equatable {
        case always
        case never
        /// The fraction of traces kept, decided on the trace id so every process decides alike.
        case ratio(Double)
    }

    public var root: Root
    /// A span with a parent follows the parent's decision.
    public var parentBased: Bool

    public init(root: Root, parentBased: Bool) {
        self.root = root
        self.parentBased = parentBased
    }

    public static let `default` = Sampler(root: .always, parentBased: true)

    /// Parses the standard variables; `nil` names a value it does not know.
    public init?(name: String?, argument: String?) {
        let name = (name ?? "parentbased_always_on").lowercased()
        let parentBased = name.hasPrefix("parentbased_")
        let base = parentBased ? String(name.dropFirst("parentbased_".count)) : name
        let ratio = argument.flatMap(Double.init).map { min(max($0, 0), 1) } ?? 1
        switch base {
        case "always_on": self.init(root: .always, parentBased: parentBased)
        case "always_off": self.init(root: .never, parentBased: parentBased)
        case "traceidratio": self.init(root: .ratio(ratio), parentBased: parentBased)
        default: return nil
        }
    }

    func samples(traceID: (high: UInt64, low: UInt64), parent: SpanContext?) -> Bool {
        if parentBased, let parent { return parent.sampled }
        switch root {
        case .always: return true
        case .never: return false
        case .ratio(let ratio):
            // The low 56 bits of the trace id against the ratio (the W3C random bits are the rightmost ones).
            let bound = UInt64(ratio * Double(UInt64(1) << 56))
            return traceID.low & ((UInt64(1) << 56) - 1) < bound
        }
    }
}
