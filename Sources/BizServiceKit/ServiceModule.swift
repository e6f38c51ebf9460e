import BizEvents
import BizStorage
import GRPCCore

/// One service of the platform, as the runtime sees it: what it needs and how it assembles itself from what the
/// runtime hands it. Both modes call the same ``assemble(_:)``; the runtime only picks transports, stores and the
/// event bus. `BizRuntime.ServiceRegistry` lists every module.
public protocol ServiceModule: SendableMetatype {
    /// `team`: the name of `biz-retail serve team`, of its database file and of `BIZ_TEAM_ADDRESS`.
    static var name: String { get }
    /// `team_service`: `producer_service` of the events it emits.
    static var producerService: String { get }
    /// Its database's schema; the runtime applies it, and relays the outbox when the schema includes it.
    static var migrations: [Migration] { get }
    /// The event types it emits (`team.created` …).
    static var producedEvents: [EventType] { get }
    /// Who may call its gRPC services.
    static var access: AccessRules { get }
    /// A method of the module's main gRPC service: its service name is what `grpc.health.v1` reports and the
    /// gateway's readiness asks about.
    static var probe: MethodDescriptor { get }

    /// The modules it calls (`identity`): the runtime connects them before ``assemble(_:)`` and hands the
    /// connections over in ``ServiceContext/connections``.
    static var dependencies: [String] { get }

    /// Builds the service over `context`.
    static func assemble(_ context: ServiceContext) async throws -> ServiceParts
}

extension ServiceModule {
    public static var dependencies: [String] { [] }
}
