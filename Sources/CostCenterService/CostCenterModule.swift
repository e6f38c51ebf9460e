import BizAuth
import BizEvents
import BizProtos
import BizServiceKit
import BizStorage
import GRPCCore

/// The Cost Center service's entry point: each tenant's cost centers over its own database; it asks the Client
/// Contractor service whether the caller's tenant is active before any change.
public enum CostCenterModule: ServiceModule {
    public static let name = "cost-center"
    public static let producerService = "cost_center_service"
    public static let migrations = CostCenterSchema.migrations
    public static let producedEvents = CostCenterEvents.produced
    public static let dependencies = ["contractor"]
    /// Roles are checked per method: reads need any role, changes admin or manager.
    public static let access = AccessRules()
    public static let probe = Bizretail_Costcenter_V1_CostCenterService.Method.ListCostCenters.descriptor

    public static func assemble(_ context: ServiceContext) async throws -> ServiceParts {
        let directory = CostCenterDirectory(outbox: context.outbox, events: context.events)
        return ServiceParts(grpcServices: [
            CostCenterGRPCService(
                directory: directory, pageTokens: PageTokens(masterKey: context.masterKey),
                tenants: try context.connections.client(TenantClient.self, of: "contractor"),
                serviceIdentity: context.identity)
        ])
    }
}

enum TenantClient: ServiceClient {
    static func wrapping<Transport: ClientTransport>(_ client: GRPCClient<Transport>)
        -> any Bizretail_Contractor_V1_TenantService.ClientProtocol
    {
        Bizretail_Contractor_V1_TenantService.Client(wrapping: client)
    }
}
