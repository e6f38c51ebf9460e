import BizMessaging
import GRPCCore
import ServiceLifecycle

/// What a module's ``ServiceModule/assemble(_:)`` returns; the runtime places each part in the process's
/// `ServiceGroup` (background services after the stores, gRPC services on the process's servers).
public struct ServiceParts: Sendable {
    /// Served on the process's gRPC servers (HTTP/2, and in-process in the embedded mode).
    public var grpcServices: [any RegistrableRPCService]
    /// Long-running work of its own (scheduled jobs …); outbox relays are the runtime's.
    public var background: [any Service]
    /// Consumers of the event log, run by the runtime over the durable bus or Kafka.
    public var subscriptions: [EventSubscription]
    /// The JWK Set of the platform's token-signing keys, when this module is the one that publishes them: then the
    /// services in its process verify tokens with them directly.
    public var signingKeys: (@Sendable () async throws -> String)?

    public init(
        grpcServices: [any RegistrableRPCService] = [], background: [any Service] = [],
        subscriptions: [EventSubscription] = [], signingKeys: (@Sendable () async throws -> String)? = nil
    ) {
        self.grpcServices = grpcServices
        self.background = background
        self.subscriptions = subscriptions
        self.signingKeys = signingKeys
    }
}
