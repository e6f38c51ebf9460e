import BizAuth
import BizEvents
import BizProtos
import BizServiceKit
import GRPCCore
import SwiftProtobuf

/// `bizretail.costcenter.v1.CostCenterService`. Callers act within their token's tenant; reads need any role,
/// changes admin or manager and an active client contractor's tenant (asked of the Client Contractor service on the
/// caller's behalf before anything is written: when it cannot answer, the call fails with its UNAVAILABLE and
/// nothing changes).
public struct CostCenterGRPCService: Bizretail_Costcenter_V1_CostCenterService.SimpleServiceProtocol {
    public var directory: CostCenterDirectory
    public var pageTokens: PageTokens
    var tenants: any Bizretail_Contractor_V1_TenantService.ClientProtocol
    /// The Cost Center service's own identity, which its calls to other services carry.
    var serviceIdentity: ServiceIdentity

    /// The writing caller, once its tenant is known to be active; and the tenant's data subject.
    func activeTenant() async throws -> (Caller, String) {
        let caller = try Caller.require(writing: true)
        let refused = ServiceError.unprocessable(
            field: "tenant_id", problem: "is not an active client contractor's tenant")
        guard caller.principal.tenantID != AuthInterceptor.platformTenant else { throw refused }
        let tenant: Bizretail_Contractor_V1_Tenant
        do {
            tenant = try await tenants.getTenant(
                .with { $0.tenantID = caller.principal.tenantID },
                metadata: try await serviceIdentity.metadata(onBehalfOf: caller),
                options: ServiceConnections.nestedCall)
        } catch let error as RPCError where error.code == .notFound {
            throw refused
        }
        guard tenant.active else { throw refused }
        return (caller, tenant.ownershipID.isEmpty ? tenant.tenantID : tenant.ownershipID)
    }

    public func createCostCenter(request: Bizretail_Costcenter_V1_CreateCostCenterRequest, context: ServerContext)
        async throws -> Bizretail_Costcenter_V1_CostCenter
    {
        let input = CostCenterDirectory.Input(
            code: request.code, name: request.name, parentID: request.parentID,
            budgetCents: request.budget.amountCents, currency: request.budget.currency)
        // The input is checked before the tenant is asked: a malformed request is a 400 whatever the tenant.
        var probe = CostCenterRecord(publicID: "", tenantID: "", now: "")
        try CostCenterDirectory.apply(input, to: &probe, creating: true)
        let (caller, subject) = try await activeTenant()
        return .init(try await directory.create(input, subject: subject, caller: caller))
    }

    public func getCostCenter(request: Bizretail_Costcenter_V1_GetCostCenterRequest, context: ServerContext)
        async throws -> Bizretail_Costcenter_V1_CostCenter
    {
        .init(
            try await directory.costCenter(
                try ServiceError.requiredID(request.publicID),
                tenantID: try Caller.require(writing: false).principal.tenantID))
    }

    public func listCostCenters(request: Bizretail_Costcenter_V1_ListCostCentersRequest, context: ServerContext)
        async throws -> Bizretail_Costcenter_V1_ListCostCentersResponse
    {
        let tenant = try Caller.require(writing: false).principal.tenantID
        let size = try Pagination.lists.size(request.pageSize)
        let records = try await directory.costCenters(
            tenantID: tenant, parentID: request.parentID.isEmpty ? nil : request.parentID.lowercased(),
            code: request.code.isEmpty ? nil : request.code, after: try pageTokens.position(of: request.pageToken),
            limit: size + 1)
        let page = pageTokens.page(records, size: size, position: \.id)
        return .with {
            $0.costCenters = page.rows.map(Bizretail_Costcenter_V1_CostCenter.init)
            $0.nextPageToken = page.next
        }
    }

    public func updateCostCenter(request: Bizretail_Costcenter_V1_UpdateCostCenterRequest, context: ServerContext)
        async throws -> Bizretail_Costcenter_V1_CostCenter
    {
        let id = try ServiceError.requiredID(request.publicID)
        let input = CostCenterDirectory.Input(
            code: request.hasCode ? request.code : nil, name: request.hasName ? request.name : nil,
            parentID: request.hasParentID ? request.parentID : nil,
            budgetCents: request.budget.hasAmountCents ? request.budget.amountCents : nil,
            currency: request.budget.hasCurrency ? request.budget.currency : nil)
        let (caller, subject) = try await activeTenant()
        return .init(
            try await directory.change(
                id, .update(input), expectedVersion: request.hasExpectedVersion ? request.expectedVersion : nil,
                subject: subject, caller: caller))
    }

    public func setCostCenterEnabled(
        request: Bizretail_Costcenter_V1_SetCostCenterEnabledRequest, context: ServerContext
    ) async throws -> Bizretail_Costcenter_V1_CostCenter {
        let id = try ServiceError.requiredID(request.publicID)
        let (caller, subject) = try await activeTenant()
        return .init(try await directory.change(id, .enable(request.enabled), subject: subject, caller: caller))
    }

    public func deleteCostCenter(request: Bizretail_Costcenter_V1_DeleteCostCenterRequest, context: ServerContext)
        async throws -> Bizretail_Costcenter_V1_DeleteCostCenterResponse
    {
        let id = try ServiceError.requiredID(request.publicID)
        let (caller, subject) = try await activeTenant()
        try await directory.change(id, .delete, subject: subject, caller: caller)
        return .init()
    }

    public func getCostCenterTree(request: Bizretail_Costcenter_V1_GetCostCenterRequest, context: ServerContext)
        async throws -> Bizretail_Costcenter_V1_CostCenterTree
    {
        let tree = try await directory.tree(
            try ServiceError.requiredID(request.publicID),
            tenantID: try Caller.require(writing: false).principal.tenantID)
        return .init(tree)
    }
}

extension Bizretail_Costcenter_V1_CostCenter {
    init(_ record: CostCenterRecord) {
        self = .with {
            $0.id = record.id
            $0.publicID = record.publicID
            $0.tenantID = record.tenantID
            $0.code = record.code
            $0.name = record.name
            $0.parentID = record.parentID ?? ""
            $0.budget = .with { budget in
                budget.amountCents = record.budgetCents
                budget.currency = record.currency
            }
            $0.enabled = record.enabled
            $0.version = record.version
            $0.createdAt = .init(rfc3339: record.createdAt)
            $0.updatedAt = .init(rfc3339: record.updatedAt)
        }
    }
}

extension Bizretail_Costcenter_V1_CostCenterTree {
    init(_ tree: CostCenterDirectory.Tree) {
        self = .with {
            $0.costCenter = .init(tree.node)
            $0.children = tree.children.map(Bizretail_Costcenter_V1_CostCenterTree.init)
        }
    }
}
