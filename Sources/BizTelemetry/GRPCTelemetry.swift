import GRPCCore
import Logging
import Metrics
import ServiceContextModule
import Synchronization
import Tracing

/// The server side of every call: a `server` span that continues the caller's `traceparent` (or starts a trace),
/// the RED metrics per method (`rpc_server_requests_total` by status code, `rpc_server_duration_seconds`) and an
/// access log line at `info` in the span. The first interceptor of every server, so it sees what the others refuse.
public struct ServerTelemetryInterceptor: ServerInterceptor {
    private let metrics = RPCMetrics(side: "server")
    private let access: AccessLog

    public init(logger: Logger) {
        self.access = AccessLog(logger: logger, message: "rpc", keys: ["rpc.service", "rpc.method", "rpc.grpc.status"])
    }

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        let method = context.descriptor
        let start = ContinuousClock.now
        // Without the platform's tracer (tracing off) there is no span: the access line and the metrics remain.
        let span = PlatformTracer.shared.map { tracer in
            tracer.start(
                method.fullyQualifiedMethod, context: ServiceContext.current ?? .topLevel,
                continuing: request.metadata.spanContext, kind: .server)
        }
        let (metrics, access) = (self.metrics, self.access)
        let finish: @Sendable (RPCError.Code?) -> Void = { code in
            let duration = ContinuousClock.now - start
            span?.end(method, status: code.map { $0.rawValue } ?? 0, failed: code)
            if access.isEnabled {
                access.info(
                    [method.service.fullyQualifiedService, method.method, code.map { "\($0)" } ?? "ok"],
                    duration: duration, span: span?.spanContext)
            }
            metrics.record(method, code: code, duration: duration)
        }
        var response: StreamingServerResponse<Output>
        do {
            response = try await RecordingSpan.withContext(of: span) { try await next(request, context) }
        } catch {
            span?.recordError(error)
            finish(Self.code(of: error))
            throw error
        }
        switch response.accepted {
        case .failure(let error):
            finish(error.code)
        case .success(var contents):
            // The body is written after this returns: the span ends with it, and the producer runs in its context.
            let producer = contents.producer
            contents.producer = { writer in
                do {
                    let trailers = try await RecordingSpan.withContext(of: span) { try await producer(writer) }
                    finish(nil)
                    return trailers
                } catch {
                    span?.recordError(error)
                    finish(Self.code(of: error))
                    throw error
                }
            }
            response.accepted = .success(contents)
        }
        return response
    }

    static func code(of error: any Error) -> RPCError.Code {
        if let error = error as? RPCError { return error.code }
        if let error = error as? any RPCErrorConvertible { return error.rpcErrorCode }
        return .unknown
    }
}

/// The client side of every call: a `client` span, whose context goes to the server in the `traceparent` metadata
/// (replacing any the caller set). Without the platform's tracer the metadata is left as the caller wrote it.
public struct ClientTracingInterceptor: ClientInterceptor {
    public init() {}

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingClientRequest<Input>,
        context: ClientContext,
        next: (StreamingClientRequest<Input>, ClientContext) async throws -> StreamingClientResponse<Output>
    ) async throws -> StreamingClientResponse<Output> {
        guard let tracer = PlatformTracer.shared else { return try await next(request, context) }
        let span = tracer.start(
            context.descriptor.fullyQualifiedMethod, context: ServiceContext.current ?? .topLevel, kind: .client)
        // The gRPC status only when the call failed before its response.
        var failed: RPCError.Code?
        defer { span.end(context.descriptor, status: failed?.rawValue, failed: failed) }
        var request = request
        request.metadata.replaceOrAddString(span.spanContext.traceparent, forKey: TraceContext.header)
        if let state = span.spanContext.traceState {
            request.metadata.replaceOrAddString(state, forKey: PlatformTracer.traceStateHeader)
        }
        do {
            // The span's context reaches the server in the metadata; nothing on this side of the call reads the
            // task's context, so it is not bound (its ServiceContext is never made).
            let response = try await next(request, context)
            if case .failure(let error) = response.accepted { failed = error.code }
            return response
        } catch {
            span.recordError(error)
            throw error
        }
    }
}

extension RecordingSpan {
    /// Ends a call's span with its attributes, set when it is over: `status` is the gRPC status code it ended with
    /// (the server always knows it; the client only when the call failed before its response), `failed` the code
    /// of a failed call (the span's status is then an error).
    fileprivate func end(_ method: MethodDescriptor, status: Int?, failed: RPCError.Code?) {
        guard isSampled else {
            end()
            return
        }
        var attributes: [(String, AttributeValue)] = []
        attributes.reserveCapacity(4)
        attributes.append(("rpc.system", .string("grpc")))
        attributes.append(("rpc.service", .string(method.service.fullyQualifiedService)))
        attributes.append(("rpc.method", .string(method.method)))
        if let status { attributes.append(("rpc.grpc.status_code", .int(Int64(status)))) }
        end(attributes: attributes, status: failed.map { SpanStatus(code: .error, message: "\($0)") })
    }
}

extension Metadata {
    /// The caller's span, from its `traceparent` (and `tracestate`).
    var spanContext: SpanContext? {
        guard let header = self[stringValues: TraceContext.header].first(where: { _ in true }) else { return nil }
        return SpanContext(
            traceparent: header,
            traceState: self[stringValues: PlatformTracer.traceStateHeader].first(where: { _ in true }))
    }
}

/// RED metrics per method and status: `rpc_<side>_requests_total` and `rpc_<side>_duration_seconds`.
final class RPCMetrics: Sendable {
    private struct Key: Hashable, Sendable {
        /// The descriptor itself: its `fullyQualifiedMethod` is a new string on every read.
        var method: MethodDescriptor
        var code: Int
    }
    private let instruments: REDInstruments<Key>

    init(side: String) {
        instruments = REDInstruments(requests: "rpc_\(side)_requests_total", duration: "rpc_\(side)_duration_seconds")
    }

    func record(_ method: MethodDescriptor, code: RPCError.Code?, duration: Duration) {
        instruments.record(Key(method: method, code: code?.rawValue ?? 0), duration: duration) {
            [
                ("rpc_method", method.fullyQualifiedMethod), ("rpc_grpc_status_code", String(code?.rawValue ?? 0)),
                ("rpc_grpc_status", code.map { "\($0)" } ?? "ok"),
            ]
        }
    }
}

/// The gateway's RED metrics per route, method and status: `hb_requests` and `http_server_request_duration`
/// (seconds), recorded where the request's span and access line end (no closure per response).
public final class HTTPMetrics: Sendable {
    private struct Key: Hashable, Sendable {
        var route: String
        var method: String
        var status: Int
    }
    private let instruments: REDInstruments<Key>

    /// `factory` is a test's own; without it, the process's (`MetricsSystem.factory`) when the instruments are made.
    public init(factory: (any MetricsFactory)? = nil) {
        instruments = REDInstruments(
            requests: "hb.requests", duration: "http.server.request.duration", factory: factory)
    }

    /// `route` is the matched route's template (`/v1/teams/{id}`), never the path itself.
    public func record(route: String, method: String, status: Int, duration: Duration) {
        instruments.record(Key(route: route, method: method, status: status), duration: duration) {
            [("http.route", route), ("http.request.method", method), ("http.response.status_code", String(status))]
        }
    }
}

/// A request counter and a duration timer (seconds) per key, each pair made once: a metrics factory's lookup takes a
/// lock and builds labels. Made at first use, not with the cache, so a cache that exists before the process's metrics
/// system is bootstrapped still counts into it.
final class REDInstruments<Key: Hashable & Sendable>: Sendable {
    private struct Instruments: Sendable {
        var requests: Counter
        var duration: Timer
    }
    private let requestsLabel: String
    private let durationLabel: String
    private let factory: (any MetricsFactory)?
    private let cache = Mutex<[Key: Instruments]>([:])

    init(requests: String, duration: String, factory: (any MetricsFactory)? = nil) {
        requestsLabel = requests
        durationLabel = duration
        self.factory = factory
    }

    /// `dimensions` are read only when `key` is new.
    func record(_ key: Key, duration: Duration, dimensions: () -> [(String, String)]) {
        let instruments = cache.withLock { cache in
            if let found = cache[key] { return found }
            let dimensions = dimensions()
            let factory = self.factory ?? MetricsSystem.factory
            let made = Instruments(
                requests: Counter(label: requestsLabel, dimensions: dimensions, factory: factory),
                duration: Timer(
                    label: durationLabel, dimensions: dimensions, preferredDisplayUnit: .seconds, factory: factory))
            cache[key] = made
            return made
        }
        instruments.requests.increment()
        instruments.duration.record(duration: duration)
    }
}
