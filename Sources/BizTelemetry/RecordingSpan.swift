import ServiceContextModule
import Synchronization
import Tracing

/// A span of the ``PlatformTracer``. Sampled spans record their name, attributes, status, events and links until
/// they end, then go to the batcher; an unsampled span only carries its context.
public final class RecordingSpan: Span {
    public let spanContext: SpanContext
    /// The context the span started in; ``context`` adds the span to it when first asked (a client span never is:
    /// its context travels in the call's metadata).
    private let base: ServiceContext
    let kind: SpanKind
    let start: UInt64
    private let batcher: SpanBatcher?
    private let state: Mutex<State>

    struct State {
        var context: ServiceContext?
        var name: String
        var attributes: SpanAttributes = [:]
        /// Set by ``setAttributes(_:)``: no hashing, no existential per value.
        var list: [(String, AttributeValue)] = []
        var status: SpanStatus?
        var events: [SpanEvent] = []
        var links: [SpanLink] = []
        var ended = false
    }

    init(
        name: String, kind: SpanKind, context: ServiceContext, spanContext: SpanContext, start: UInt64,
        batcher: SpanBatcher?
    ) {
        self.base = context
        self.spanContext = spanContext
        self.kind = kind
        self.start = start
        self.batcher = batcher
        self.state = Mutex(State(name: name))
    }

    /// The context the span started in, with the span as its active span: what runs inside the span sees.
    public var context: ServiceContext {
        state.withLock { state in
            if let context = state.context { return context }
            var context = base
            context.spanContext = spanContext
            state.context = context
            return context
        }
    }

    public var isRecording: Bool { batcher != nil && !state.withLock { $0.ended } }

    public var operationName: String {
        get { state.withLock { $0.name } }
        set {
            guard batcher != nil else { return }
            state.withLock { if !$0.ended { $0.name = newValue } }
        }
    }

    /// The span's attributes, those of ``setAttributes(_:)`` included.
    public var attributes: SpanAttributes {
        get {
            state.withLock { state in
                var attributes = state.attributes
                for (key, value) in state.list where attributes.get(key) == nil {
                    attributes.set(key, value: value.spanAttribute)
                }
                return attributes
            }
        }
        set {
            guard batcher != nil else { return }
            state.withLock { if !$0.ended { $0.attributes = newValue } }
        }
        // `span.attributes[key] = value` changes the attributes in place: they are taken out of the state while
        // the caller changes them (a copy read by `get` would make every change copy the whole dictionary), then
        // put back unless the span ended meanwhile.
        _modify {
            var attributes = state.withLock { state in
                let attributes = state.attributes
                state.attributes = [:]
                return attributes
            }
            defer {
                if batcher != nil { state.withLock { if !$0.ended { $0.attributes = attributes } } }
            }
            yield &attributes
        }
    }

    /// Sets the platform's own attributes in one change: a list rather than the dictionary's hashed, boxed entries
    /// (a request's spans set a dozen of them). A key set here and also through ``attributes`` is exported once, with
    /// the dictionary's value.
    public func setAttributes(_ attributes: [(String, AttributeValue)]) {
        guard batcher != nil else { return }
        state.withLock { state in
            guard !state.ended else { return }
            if state.list.isEmpty { state.list = attributes } else { state.list += attributes }
        }
    }

    public func setStatus(_ status: SpanStatus) {
        guard batcher != nil else { return }
        state.withLock { state in
            // An `ok` status is final (the specification: it overrides and is not overridden).
            guard !state.ended, state.status?.code != .ok else { return }
            state.status = status
        }
    }

    public func addEvent(_ event: SpanEvent) {
        guard batcher != nil else { return }
        state.withLock { if !$0.ended { $0.events.append(event) } }
    }

    public func recordError<Instant: TracerInstant>(
        _ error: any Error, attributes: SpanAttributes, at instant: @autoclosure () -> Instant
    ) {
        guard batcher != nil else { return }
        var attributes = attributes
        attributes["exception.type"] = "\(type(of: error))"
        // The error's own text may hold personal data: it goes through the same redaction as a log line.
        attributes["exception.message"] = Redaction.scrub("\(error)")
        addEvent(SpanEvent(name: "exception", at: instant(), attributes: attributes))
    }

    public func addLink(_ link: SpanLink) {
        guard batcher != nil else { return }
        state.withLock { if !$0.ended { $0.links.append(link) } }
    }

    /// Runs `operation` with `span` as the task's active span (``SpanContext/current``); without a span, as it is.
    /// Bound on its own when the task's `ServiceContext` carries no span (a request, a call: the usual case), else
    /// as the span's ``context``, so that the context's span stays the innermost.
    public static func withContext<T>(of span: RecordingSpan?, _ operation: () async throws -> T) async rethrows -> T {
        guard let span else { return try await operation() }
        if ServiceContext.current?.spanContext == nil {
            return try await SpanContext.$bound.withValue(span.spanContext, operation: operation)
        }
        return try await ServiceContext.withValue(span.context, operation: operation)
    }

    /// Ends the span now (without the protocol's generic instant).
    public func end() { end(atNanoseconds: PlatformTracer.now()) }

    /// Whether the span is sampled, so that what it records is exported: read without its lock (it never changes).
    /// A request's and a call's code build their attributes only then.
    public var isSampled: Bool { batcher != nil }

    /// Ends the span now with what a request or a call learns only when it is over, in one change: its final
    /// `name` (if any), `attributes` (as ``setAttributes(_:)``) and `status` (as ``setStatus(_:)``).
    public func end(name: String? = nil, attributes: [(String, AttributeValue)], status: SpanStatus? = nil) {
        guard batcher != nil else { return }
        end(atNanoseconds: PlatformTracer.now()) { state in
            if let name { state.name = name }
            if state.list.isEmpty { state.list = attributes } else { state.list += attributes }
            if let status, state.status?.code != .ok { state.status = status }
        }
    }

    public func end<Instant: TracerInstant>(at instant: @autoclosure () -> Instant) {
        guard batcher != nil else { return }
        end(atNanoseconds: instant().nanosecondsSinceEpoch)
    }

    /// `last` changes the state as the span ends, under the same lock.
    private func end(atNanoseconds end: UInt64, last: (inout State) -> Void = { _ in }) {
        guard let batcher else { return }
        let finished: FinishedSpan? = state.withLock { state in
            guard !state.ended else { return nil }
            last(&state)
            state.ended = true
            return FinishedSpan(
                name: state.name, kind: kind, context: spanContext, start: start, end: end,
                attributes: state.attributes, attributeList: state.list, status: state.status, events: state.events,
                links: state.links.compactMap(\.context.spanContext))
        }
        if let finished { batcher.add(finished) }
    }
}

/// An ended span, as exported.
public struct FinishedSpan: Sendable {
    public var name: String
    public var kind: SpanKind
    public var context: SpanContext
    /// Nanoseconds since the epoch.
    public var start: UInt64
    public var end: UInt64
    /// Set through the `Span` protocol.
    public var attributes: SpanAttributes
    /// Set through ``RecordingSpan/setAttributes(_:)``; where ``attributes`` has the same key, its value wins.
    public var attributeList: [(String, AttributeValue)] = []
    public var status: SpanStatus?
    public var events: [SpanEvent]
    /// The linked spans' contexts (their attributes are not kept).
    public var links: [SpanContext]

    /// The attribute exported under `key`.
    public func attribute(_ key: String) -> SpanAttribute? {
        attributes.get(key) ?? attributeList.first { $0.0 == key }?.1.spanAttribute
    }
}

/// An attribute value of the platform's own spans: the scalar kinds OTLP exports, without `SpanAttribute`'s
/// existential cases (copying those goes through value witnesses).
public enum AttributeValue: Sendable, Equatable {
    case string(String)
    case int(Int64)
    case double(Double)
    case bool(Bool)

    var spanAttribute: SpanAttribute {
        switch self {
        case .string(let value): .string(value)
        case .int(let value): .int64(value)
        case .double(let value): .double(value)
        case .bool(let value): .bool(value)
        }
    }
}
