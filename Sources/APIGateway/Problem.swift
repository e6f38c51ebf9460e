import BizEvents
import BizProtos
import Foundation
import GRPCCore
import HTTPTypes
import Hummingbird

/// An RFC 9457 problem: the only kind of error body the gateway sends.
public struct Problem: HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var title: String
    public var detail: String
    /// The offending request field, when there is one.
    public var field: String?
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ detail: String, field: String? = nil, title: String? = nil) {
        self.status = status
        self.title = title ?? status.reasonPhrase
        self.detail = detail
        self.field = field
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var body: [String: JSONValue] = [
            "type": "about:blank", "title": .string(title), "status": .integer(Int64(status.code)),
            "detail": .string(detail), "instance": .string(request.uri.path),
        ]
        if let field { body["field"] = .string(field) }
        var fields = headers
        fields[.contentType] = "application/problem+json"
        return Response(
            status: status, headers: fields,
            body: .init(byteBuffer: ByteBuffer(bytes: JSONValue.object(body).canonicalBytes())))
    }

    public static func badRequest(_ detail: String, field: String? = nil) -> Problem {
        Problem(.badRequest, detail, field: field)
    }
    public static func notFound(_ detail: String = "no such resource") -> Problem { Problem(.notFound, detail) }

    public static func unauthorized(_ detail: String, error: String = "invalid_token") -> Problem {
        var problem = Problem(.unauthorized, detail)
        problem.headers[.wwwAuthenticate] =
            #"Bearer realm="biz-retail", error="\#(error)", error_description="\#(detail)""#
        return problem
    }

    /// A valid token that does not grant `scope` (RFC 6750 §3.1).
    public static func insufficientScope(_ scope: String) -> Problem {
        let detail = "the token does not grant the \(scope) scope"
        var problem = Problem(.forbidden, detail)
        problem.headers[.wwwAuthenticate] =
            #"Bearer realm="biz-retail", error="insufficient_scope", scope="\#(scope)", error_description="\#(detail)""#
        return problem
    }

    /// Translates a service's gRPC failure into the problem the client sees; nothing internal leaks through.
    public static func from(_ error: RPCError) -> Problem {
        let field = error.metadata[stringValues: ErrorMetadata.field].first(where: { _ in true })
        let reason = error.metadata[stringValues: ErrorMetadata.reason].first(where: { _ in true })
        switch error.code {
        case .invalidArgument:
            return Problem(
                reason == ErrorMetadata.Reason.unprocessable ? .unprocessableContent : .badRequest, error.message,
                field: field)
        case .notFound: return .notFound(error.message)
        case .alreadyExists: return Problem(.conflict, error.message, field: field)
        case .failedPrecondition:
            return Problem(
                reason == ErrorMetadata.Reason.versionMismatch ? .preconditionFailed : .conflict, error.message)
        case .unauthenticated: return .unauthorized(error.message)
        case .permissionDenied: return Problem(.forbidden, error.message)
        case .unavailable, .deadlineExceeded:
            return Problem(.serviceUnavailable, "a service is temporarily unavailable; retry later")
        default: return Problem(.internalServerError, "the request could not be completed")
        }
    }
}
