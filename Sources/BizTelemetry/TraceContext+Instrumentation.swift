import GRPCCore
import Instrumentation
import ServiceContextModule
import Synchronization

extension TraceContext {
    /// The active span's context, when a tracer is bootstrapped; `nil` without one. Read by every log line and every
    /// call: straight from the platform tracer's ``SpanContext/current`` when it runs, else from the task's
    /// `ServiceContext` through the instrument's propagator (which formats a header only to parse it back).
    public static var current: TraceContext? {
        if let span = SpanContext.current { return TraceContext(span) }
        return ServiceContext.current.flatMap(TraceContext.init(of:))
    }

    /// The hex view of `span`.
    public init(_ span: SpanContext) {
        self.init(traceID: span.traceIDHex, spanID: span.spanIDHex, flags: span.sampled ? "01" : "00")
    }

    /// The span context `context` carries: the platform tracer's ``SpanContext``, else read through the
    /// bootstrapped instrument's propagator.
    public init?(of context: ServiceContext) {
        if let span = context.spanContext {
            self.init(span)
            return
        }
        var carrier: [String: String] = [:]
        InstrumentationSystem.instrument.inject(context, into: &carrier, using: DictionaryInjector())
        guard let traceparent = carrier[Self.header] else { return nil }
        self.init(traceparent: traceparent)
    }

    /// A service context that continues the trace of `traceparent` (the current context's baggage kept), for a
    /// span whose parent is in another process or was stored (an outbox row, a Kafka header).
    public static func continuing(_ traceparent: String?) -> ServiceContext {
        var context = ServiceContext.current ?? .topLevel
        guard let traceparent else { return context }
        InstrumentationSystem.instrument.extract(
            [header: traceparent], into: &context, using: DictionaryExtractor())
        return context
    }

    /// The W3C header (and gRPC metadata key, and Kafka record header).
    public static let header = "traceparent"
}

struct DictionaryInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) {
        carrier[key] = value
    }
}

struct DictionaryExtractor: Extractor {
    func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
}

/// gRPC metadata as a carrier of trace context.
struct MetadataInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout Metadata) {
        carrier.replaceOrAddString(value, forKey: key)
    }
}

struct MetadataExtractor: Extractor {
    func extract(key: String, from carrier: Metadata) -> String? {
        carrier[stringValues: key].first(where: { _ in true })
    }
}
