import BizProtos
import GRPCCore
import Synchronization

/// The standard `grpc.health.v1.Health` service of a process's gRPC servers: `""` (the server as a whole) and each
/// hosted service by its fully qualified name. Every one is SERVING while the process runs and NOT_SERVING once it
/// begins to shut down, so a balancer or the gateway's readiness stops sending it work. Callable without a token.
final class HealthService: Grpc_Health_V1_Health.SimpleServiceProtocol, Sendable {
    typealias Status = Grpc_Health_V1_HealthCheckResponse.ServingStatus

    private struct State {
        var statuses: [String: Status]
        var watchers: [Int: (service: String, continuation: AsyncStream<Status>.Continuation)] = [:]
        var nextWatcher = 0
    }

    private let state: Mutex<State>

    init(services: [String]) {
        var statuses: [String: Status] = ["": .serving]
        for service in services { statuses[service] = .serving }
        state = Mutex(State(statuses: statuses))
    }

    /// The methods that need no credentials.
    static let publicMethods: Set<String> = [
        Grpc_Health_V1_Health.Method.Check.descriptor.fullyQualifiedMethod,
        Grpc_Health_V1_Health.Method.List.descriptor.fullyQualifiedMethod,
        Grpc_Health_V1_Health.Method.Watch.descriptor.fullyQualifiedMethod,
    ]

    /// Every service NOT_SERVING, told to the watchers, whose streams then end (a server drains its calls before
    /// it stops, and a watch would never end on its own).
    func shutDown() {
        state.withLock { state in
            for service in state.statuses.keys { state.statuses[service] = .notServing }
            for watcher in state.watchers.values {
                if state.statuses[watcher.service] != nil { watcher.continuation.yield(.notServing) }
                watcher.continuation.finish()
            }
        }
    }

    func check(request: Grpc_Health_V1_HealthCheckRequest, context: ServerContext) async throws
        -> Grpc_Health_V1_HealthCheckResponse
    {
        guard let status = state.withLock({ $0.statuses[request.service] }) else {
            throw RPCError(code: .notFound, message: "no service '\(request.service)' on this server")
        }
        return .with { $0.status = status }
    }

    func list(request: Grpc_Health_V1_HealthListRequest, context: ServerContext) async throws
        -> Grpc_Health_V1_HealthListResponse
    {
        let statuses = state.withLock { $0.statuses }
        return .with { response in
            for (service, status) in statuses { response.statuses[service] = .with { $0.status = status } }
        }
    }

    func watch(
        request: Grpc_Health_V1_HealthCheckRequest, response: RPCWriter<Grpc_Health_V1_HealthCheckResponse>,
        context: ServerContext
    ) async throws {
        let (stream, continuation) = AsyncStream.makeStream(of: Status.self, bufferingPolicy: .bufferingNewest(1))
        let id = state.withLock { state in
            let id = state.nextWatcher
            state.nextWatcher += 1
            state.watchers[id] = (request.service, continuation)
            continuation.yield(state.statuses[request.service] ?? .serviceUnknown)
            return id
        }
        defer { _ = state.withLock { $0.watchers.removeValue(forKey: id) } }
        try await withTaskCancellationHandler {
            var last: Status?
            for await status in stream where status != last {
                last = status
                try await response.write(.with { $0.status = status })
            }
        } onCancel: {
            continuation.finish()
        }
    }
}
