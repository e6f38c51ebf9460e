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
    public var trace: TraceContext
    /// The bearer token, once verified.
    public var bearerToken: String?
    public var principal: Principal?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        peerIP = source.channel.remoteAddress?.ipAddress ?? "0.0.0.0"
        clientIP = peerIP
        // Set from the request's traceparent (or a new trace) by RequestScopeMiddleware.
        trace = TraceContext(traceID: "", spanID: "")
    }

    /// Bodies over 1 MiB are refused with 413.
    public var maxUploadSize: Int { 1 << 20 }
}
