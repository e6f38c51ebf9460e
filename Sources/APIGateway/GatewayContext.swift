import BizAuth
import BizTelemetry
import Hummingbird
import NIOCore

/// Per-request state: the peer, the trace, and (on `/v1`) the verified caller.
public struct GatewayContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The TCP peer's address.
    public var peerIP: String
    /// The client's address: the peer, or the first `X-Forwarded-For` hop when the peer is a trusted proxy.
    public var clientIP: String
    /// The request's trace: its span's when the platform's tracer made one (formatted only when asked: with tracing
    /// on, the calls and the response carry the span's own `traceparent`), else the incoming one or a new one.
    public var trace: TraceContext {
        get { span.map(TraceContext.init) ?? untraced }
        set {
            untraced = newValue
            span = nil
        }
    }
    /// The request's span, set by RequestScopeMiddleware when tracing is on.
    var span: SpanContext?
    private var untraced: TraceContext
    /// The bearer token, once verified.
    public var bearerToken: String?
    public var principal: Principal?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        peerIP = source.channel.remoteAddress?.ipAddress ?? "0.0.0.0"
        clientIP = peerIP
        // Set from the request's traceparent (or a new trace) by RequestScopeMiddleware.
        untraced = TraceContext(traceID: "", spanID: "")
    }

    /// Bodies over 1 MiB are refused with 413.
    public var maxUploadSize: Int { 1 << 20 }
}
