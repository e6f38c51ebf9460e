import BizAuth
import BizEvents
import BizProtos
import BizServiceKit
import BizStorage
import GRPCCore

/// The Team service's entry point: teams and accounts over its own database.
public enum TeamModule: ServiceModule {
    public static let name = "team"
    public static let producerService = "team_service"
    public static let migrations = TeamSchema.migrations
    public static let producedEvents = TeamEvents.produced
    /// A team's `cost_center_id` is checked with the Cost Center service.
    public static let dependencies = ["cost-center"]
    /// Roles are checked per method (`TeamGRPCService`): reads need any role, changes admin or manager.
    public static let access = AccessRules()
    public static let probe = Bizretail_Team_V1_TeamService.Method.ListTeams.descriptor

    public static func assemble(_ context: ServiceContext) async throws -> ServiceParts {
        let directory = TeamDirectory(
            outbox: context.outbox, events: context.events, subjects: SubjectIDs(masterKey: context.masterKey))
        let pageTokens = PageTokens(masterKey: context.masterKey)
        let costCenters = try context.connections.client(CostCenterClient.self, of: "cost-center")
        return ServiceParts(grpcServices: [
            TeamGRPCService(
                directory: directory, pageTokens: pageTokens, costCenters: costCenters,
                serviceIdentity: context.identity)
        ])
    }
}

enum CostCenterClient: ServiceClient {
    static func wrapping<Transport: ClientTransport>(_ client: GRPCClient<Transport>)
        -> any Bizretail_Costcenter_V1_CostCenterService.ClientProtocol
    {
        Bizretail_Costcenter_V1_CostCenterService.Client(wrapping: client)
    }
}
