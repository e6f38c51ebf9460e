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
    static let xForwardedFor = Self("X-Forwarded-For")!
    static let pragma = Self("Pragma")!
}

/// Every request: a `server` span (continuing an incoming `traceparent`), its trace echoed on the response, an
/// access log line at `info` in the span, the client IP (`X-Forwarded-For` believed only from trusted proxies), and
/// errors turned into problem+json — never a bare 500 with internals.
///
/// The span is this middleware's own rather than Hummingbird's `TracingMiddleware`, which copies the attributes out
/// and back twice and wraps the response body to end the span after it is written: ours sets the attributes once
/// and ends when the response is ready, like the access line's `duration_ms` (every body the gateway writes is a
/// buffer already complete by then).
struct RequestScopeMiddleware: RouterMiddleware {
    typealias Context = GatewayContext
    var trustedProxies: Set<String>
    var logger: Logger

    func handle(_ request: Request, context: GatewayContext, next: (Request, GatewayContext) async throws -> Response)
        async throws -> Response
    {
        let start = ContinuousClock.now
        var parent = ServiceContext.current ?? .topLevel
        InstrumentationSystem.instrument.extract(request.headers, into: &parent, using: HTTPFieldsExtractor())
        let span = InstrumentationSystem.tracer.startSpan(
            "\(request.method.rawValue)", context: parent, ofKind: .server)
        var context = context
        context.trace =
            TraceContext(of: span.context) ?? request.headers[.traceparent].flatMap(TraceContext.init(traceparent:))
            ?? .random()
        context.clientIP = clientIP(request, peer: context.peerIP)
        let scoped = context
        return try await ServiceContext.withValue(span.context) {
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
                span.recordError(error)
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
            response.headers[.traceparent] = scoped.trace.traceparent
            let route = scoped.endpointPath ?? "unmatched"
            if span.isRecording { describe(span, request: request, context: scoped, route: route, response: response) }
            logger.info(
                "request",
                metadata: [
                    "http.request.method": "\(request.method)", "url.path": "\(route)",
                    "http.response.status_code": "\(response.status.code)",
                    "duration_ms": "\((ContinuousClock.now - start).milliseconds)",
                ])
            span.end()
            return response
        }
    }

    /// The span's name (`GET /v1/teams/{id}`) and its HTTP attributes (OpenTelemetry's semantic conventions), set
    /// in one change.
    private func describe(
        _ span: any Span, request: Request, context: GatewayContext, route: String, response: Response
    ) {
        span.operationName = "\(request.method.rawValue) \(route)"
        span.updateAttributes { attributes in
            attributes["http.request.method"] = request.method.rawValue
            attributes["url.scheme"] = "https"
            attributes["url.path"] = request.uri.path
            if let query = request.uri.query { attributes["url.query"] = query }
            attributes["http.route"] = context.endpointPath
            attributes["http.response.status_code"] = Int(response.status.code)
            attributes["client.address"] = context.clientIP
            attributes["network.peer.address"] = context.peerIP
            if let agent = request.headers[.userAgent] { attributes["user_agent.original"] = agent }
        }
        if response.status.code >= 500 { span.setStatus(SpanStatus(code: .error)) }
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
        guard let header = request.headers[.authorization] else {
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

/// A request's headers as a carrier of trace context (`traceparent`, `tracestate`).
struct HTTPFieldsExtractor: Extractor {
    func extract(key: String, from carrier: HTTPFields) -> String? {
        HTTPField.Name(key).flatMap { carrier[$0] }
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
        if let allowed = OpenAPIDocument.methods(forPath: request.uri.path), !allowed.contains(method) {
            var problem = Problem(.methodNotAllowed, "\(method) is not a method of this resource")
            problem.headers[.allow] = allowed.joined(separator: ", ")
            throw problem
        }
        return try await next(request, context)
    }
}
