import BizStorage
import GRPCCore

/// The one place storage failures become gRPC statuses, for every service: a store that is down is UNAVAILABLE
/// (the gateway answers 503, the caller retries), a refused change FAILED_PRECONDITION, a constraint ALREADY_EXISTS,
/// anything else INTERNAL. The message never carries the store's own text. Domain errors (`TeamError`,
/// `IdentityError`, `AuditError` …) translate themselves through `RPCErrorConvertible`.
public struct StorageErrorInterceptor: ServerInterceptor {
    public init() {}

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        do {
            return try await next(request, context)
        } catch let error as StorageError {
            throw Self.rpcError(error)
        }
    }

    public static func rpcError(_ error: StorageError) -> RPCError {
        switch error.code {
        case .unavailable: RPCError(code: .unavailable, message: "the store is unavailable; retry later")
        case .refused: RPCError(code: .failedPrecondition, message: "the store refused the change")
        case .constraint: RPCError(code: .alreadyExists, message: "the change conflicts with stored data")
        case .invalidData: RPCError(code: .invalidArgument, message: "the store cannot hold a value of the request")
        default: RPCError(code: .internalError, message: "the store could not complete the request")
        }
    }
}
