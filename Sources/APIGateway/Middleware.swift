import BizAuth
import BizEvents
import BizTelemetry
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceContextModule
import Tracing

extension HTTPField.Name {
    static let traceparent = Self("traceparent")!
    static let tracestate = Self("tracestate")!
    static let xForwardedFor = Self("X-Forwarded-For")!
    static let pragma = Self("Pragma")!
}

/// Every request: a `server` span (continuing an incoming `traceparent`), its trace echoed on the response, an
/// access log line at `info` in the span, the RED metrics of its route (``HTTPMetrics``), the client IP
/// (`X-Forwarded-For` believed only from trusted proxies), and errors turned into problem+json — never a bare 500
/// with internals.
///
/// The span is this middleware's own rather than Hummingbird's `TracingMiddleware`, which copies the attributes out
/// and back twice and wraps the response body to end the span after it is written: ours sets the attributes once
/// and ends when the response is ready, like the access line's `duration_ms` (every body the gateway writes is a
/// buffer already complete by then).
struct RequestScopeMiddleware: RouterMiddleware {
    typealias Context = GatewayContext
    var trustedProxies: Set<String>
    var logger: Logger
    let access: AccessLog
    let metrics = HTTPMetrics()

    init(trustedProxies: Set<String>, logger: Logger) {
        self.trustedProxies = trustedProxies
        self.logger = logger
        self.access = AccessLog(
            logger: logger, message: "request", keys: ["http.request.method", "url.path", "http.response.status_code"])
    }

    func handle(_ request: Request, context: GatewayContext, next: (Request, GatewayContext) async throws -> Response)
        async throws -> Response
    {
        let start = ContinuousClock.now
        // The platform's tracer when tracing is on (the span continues an incoming traceparent); without it the
        // trace is the incoming one, or a new one, for the response header, the calls and the events.
        let span = PlatformTracer.shared.map { tracer in
            tracer.start(
                request.method.rawValue, context: ServiceContext.current ?? .topLevel,
                continuing: request.headers.spanContext, kind: .server)
        }
        var context = context
        if let span {
            context.span = span.spanContext
        } else {
            context.trace = request.headers.value(.traceparent).flatMap(TraceContext.init(traceparent:)) ?? .random()
        }
        context.clientIP = clientIP(request, peer: context.peerIP)
        let scoped = context
        return try await RecordingSpan.withContext(of: span) {
            try await respond(request, scoped, span: span, start: start, next: next)
        }
    }

    private func respond(
        _ request: Request, _ scoped: GatewayContext, span: RecordingSpan?, start: ContinuousClock.Instant,
        next: (Request, GatewayContext) async throws -> Response
    ) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, scoped)
        } catch let problem as Problem {
            response = try problem.response(from: request, context: scoped)
        } catch is NIOTooManyBytesError {
            response = try Problem(.contentTooLarge, "the request body is over the 1 MiB limit").response(
                from: request, context: scoped
            )
        } catch let error as HTTPError {
            let detail =
                error.status == .contentTooLarge
                ? "the request body is over the 1 MiB limit" : (error.body ?? error.status.reasonPhrase)
            response = try Problem(error.status, detail).response(from: request, context: scoped)
        } catch {
            span?.recordError(error)
            logger.error(
                "request failed",
                metadata: [
                    "path": "\(request.uri.path)", "error": "\(type(of: error))",
                    "trace_id": "\(scoped.trace.traceID)",
                ]
            )
            response = try Problem(.internalServerError, "the request could not be completed").response(
                from: request, context: scoped
            )
        }
        response.headers[.traceparent] = span?.spanContext.traceparent ?? scoped.trace.traceparent
        let route = scoped.endpointPath ?? "unmatched"
        if let span { end(span, request: request, context: scoped, route: route, response: response) }
        let duration = ContinuousClock.now - start
        if access.isEnabled {
            access.info(
                [request.method.rawValue, route, String(response.status.code)], duration: duration,
                span: span?.spanContext)
        }
        metrics.record(
            route: route, method: request.method.rawValue, status: Int(response.status.code), duration: duration)
        return response
    }

    /// Ends the span with its name (`GET /v1/teams/{id}`) and its HTTP attributes (OpenTelemetry's semantic
    /// conventions), set in the same change. The span ends when the response is ready, as the access line's
    /// duration does.
    private func end(
        _ span: RecordingSpan, request: Request, context: GatewayContext, route: String, response: Response
    ) {
        guard span.isSampled else {
            span.end()
            return
        }
        // Room for all nine at once: the optional ones appended to a literal's array would copy it.
        var attributes: [(String, AttributeValue)] = []
        attributes.reserveCapacity(9)
        attributes.append(("http.request.method", .string(request.method.rawValue)))
        attributes.append(("url.scheme", .string("https")))
        attributes.append(("url.path", .string(request.uri.path)))
        attributes.append(("http.response.status_code", .int(Int64(response.status.code))))
        attributes.append(("client.address", .string(context.clientIP)))
        attributes.append(("network.peer.address", .string(context.peerIP)))
        if let route = context.endpointPath { attributes.append(("http.route", .string(route))) }
        if let query = request.uri.query { attributes.append(("url.query", .string(query))) }
        if let agent = request.headers.value(.userAgent) {
            attributes.append(("user_agent.original", .string(agent)))
        }
        span.end(
            name: "\(request.method.rawValue) \(route)", attributes: attributes,
            status: response.status.code >= 500 ? SpanStatus(code: .error) : nil)
    }

    /// Walks `X-Forwarded-For` from the right while the hop is a trusted proxy; the first untrusted address is the
    /// client. A header from an untrusted peer is ignored entirely.
    func clientIP(_ request: Request, peer: String) -> String {
        guard trustedProxies.contains(peer), let header = request.headers[.xForwardedFor] else { return peer }
        let hops = header.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        for hop in hops.reversed() where !trustedProxies.contains(hop) {
            return EventEnvelope.isIPAddress(hop) ? hop : peer
        }
        return hops.first.flatMap { EventEnvelope.isIPAddress($0) ? $0 : nil } ?? peer
    }
}

/// `/v1`: a valid bearer token is required (401 with `WWW-Authenticate` otherwise), granting `scope` (403
/// `insufficient_scope` otherwise: `api` for the API, `openid` for userinfo).
struct BearerAuthMiddleware: RouterMiddleware {
    typealias Context = GatewayContext
    var verifier: TokenVerifier
    var scope: String

    func handle(_ request: Request, context: GatewayContext, next: (Request, GatewayContext) async throws -> Response)
        async throws -> Response
    {
        guard let header = request.headers.value(.authorization) else {
            throw Problem.unauthorized("a bearer token is required", error: "invalid_request")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw Problem.unauthorized("the Authorization header must be 'Bearer <token>'", error: "invalid_request")
        }
        var context = context
        do {
            context.principal = try await verifier.verify(String(parts[1]))
        } catch {
            throw Problem.unauthorized(error.reason)
        }
        guard context.principal?.scopes.contains(scope) == true else {
            throw Problem.insufficientScope(scope)
        }
        context.bearerToken = String(parts[1])
        return try await next(request, context)
    }
}

extension GatewayContext {
    /// The verified principal, which must hold one of `roles` (403 otherwise).
    func require(anyOf roles: Set<String>) throws -> Principal {
        guard let principal else { throw Problem.unauthorized("a bearer token is required") }
        guard principal.roles.contains(where: roles.contains) else {
            throw Problem(.forbidden, "this needs one of the roles: \(roles.sorted().joined(separator: ", "))")
        }
        return principal
    }
}

extension HTTPFields {
    /// The caller's span, from the request's `traceparent` (and `tracestate`).
    var spanContext: SpanContext? {
        guard let header = value(.traceparent) else { return nil }
        return SpanContext(traceparent: header, traceState: value(.tracestate))
    }

    /// `self[name]`, without making a new string in the usual case: a single field's value is returned as it is
    /// (the subscript joins every field of the name, even a single one); several are joined as the subscript joins
    /// them.
    func value(_ name: HTTPField.Name) -> String? {
        var found: String?
        for field in self where field.name == name {
            if found != nil { return self[name] }
            found = field.value
        }
        return found
    }
}

/// 405 with `Allow` (RFC 9110 §15.5.6) for a method `/openapi.json` does not declare on a path it describes, before
/// any credentials are asked for: the document is the one list of what each path answers.
struct MethodNotAllowedMiddleware: RouterMiddleware {
    typealias Context = GatewayContext

    func handle(_ request: Request, context: GatewayContext, next: (Request, GatewayContext) async throws -> Response)
        async throws -> Response
    {
        let method = request.method.rawValue
        if OpenAPIDocument.declares(method, onPath: request.uri.path) == false,
            let allowed = OpenAPIDocument.methods(forPath: request.uri.path)
        {
            var problem = Problem(.methodNotAllowed, "\(method) is not a method of this resource")
            problem.headers[.allow] = allowed.joined(separator: ", ")
            throw problem
        }
        return try await next(request, context)
    }
}
