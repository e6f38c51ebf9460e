import BizAuth
import BizEvents
import BizProtos
import BizServiceKit
import BizStorage
import GRPCCore

/// The Client Contractor service's entry point: the contractors (the tenants) over its own database; it calls the
/// Identity Provider to create a new tenant's first administrator.
public enum ContractorModule: ServiceModule {
    public static let name = "contractor"
    public static let producerService = "client_contractor_service"
    public static let migrations = ContractorSchema.migrations
    public static let producedEvents = ContractorEvents.produced
    public static let dependencies = ["identity"]
    /// Contractors span every tenant: platform administrators only. Any caller may ask about its own tenant.
    public static let access = AccessRules(
        requiredRoles: [Bizretail_Contractor_V1_ClientContractorService.descriptor.fullyQualifiedService: ["admin"]],
        platformOnly: [Bizretail_Contractor_V1_ClientContractorService.descriptor.fullyQualifiedService])
    public static let probe = Bizretail_Contractor_V1_ClientContractorService.Method.ListContractors.descriptor

    public static func assemble(_ context: ServiceContext) async throws -> ServiceParts {
        let directory = ContractorDirectory(
            outbox: context.outbox, events: context.events, subjects: SubjectIDs(masterKey: context.masterKey))
        let identity = try context.connections.client(IdentityClient.self, of: "identity")
        return ServiceParts(grpcServices: [
            ContractorGRPCService(
                directory: directory, pageTokens: PageTokens(masterKey: context.masterKey), identity: identity,
                serviceIdentity: context.identity),
            TenantGRPCService(directory: directory),
        ])
    }
}

enum IdentityClient: ServiceClient {
    static func wrapping<Transport: ClientTransport>(_ client: GRPCClient<Transport>)
        -> any Bizretail_Identity_V1_IdentityService.ClientProtocol
    {
        Bizretail_Identity_V1_IdentityService.Client(wrapping: client)
    }
}
