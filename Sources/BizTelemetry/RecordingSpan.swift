import ServiceContextModule
import Synchronization
import Tracing

/// A span of the ``PlatformTracer``. Sampled spans record their name, attributes, status, events and links until
/// they end, then go to the batcher; an unsampled span only carries its context.
public final class RecordingSpan: Span {
    public let context: ServiceContext
    let spanContext: SpanContext
    let kind: SpanKind
    let start: UInt64
    private let batcher: SpanBatcher?
    private let state: Mutex<State>

    struct State {
        var name: String
        var attributes: SpanAttributes = [:]
        var status: SpanStatus?
        var events: [SpanEvent] = []
        var links: [SpanLink] = []
        var ended = false
    }

    init(
        name: String, kind: SpanKind, context: ServiceContext, spanContext: SpanContext, start: UInt64,
        batcher: SpanBatcher?
    ) {
        self.context = context
        self.spanContext = spanContext
        self.kind = kind
        self.start = start
        self.batcher = batcher
        self.state = Mutex(State(name: name))
    }

    public var isRecording: Bool { batcher != nil && !state.withLock { $0.ended } }

    public var operationName: String {
        get { state.withLock { $0.name } }
        set {
            guard batcher != nil else { return }
            state.withLock { if !$0.ended { $0.name = newValue } }
        }
    }

    public var attributes: SpanAttributes {
        get { state.withLock { $0.attributes } }
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

    public func end<Instant: TracerInstant>(at instant: @autoclosure () -> Instant) {
        guard let batcher else { return }
        let finished: FinishedSpan? = state.withLock { state in
            guard !state.ended else { return nil }
            state.ended = true
            return FinishedSpan(
                name: state.name, kind: kind, context: spanContext, start: start,
                end: instant().nanosecondsSinceEpoch, attributes: state.attributes, status: state.status,
                events: state.events, links: state.links.compactMap(\.context.spanContext))
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
    public var attributes: SpanAttributes
    public var status: SpanStatus?
    public var events: [SpanEvent]
    /// The linked spans' contexts (their attributes are not kept).
    public var links: [SpanContext]
}
