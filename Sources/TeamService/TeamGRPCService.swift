import BizAuth
import BizEvents
import BizProtos
import BizServiceKit
import Foundation
import GRPCCore
import SwiftProtobuf

/// The Team service's gRPC API (`bizretail.team.v1.TeamService`). Callers act within their token's tenant; reads
/// need any role, changes need `admin` or `manager`.
public struct TeamGRPCService: Bizretail_Team_V1_TeamService.SimpleServiceProtocol {
    public var directory: TeamDirectory
    public var pageTokens: PageTokens
    /// Checks a team's `cost_center_id`.
    var costCenters: any Bizretail_Costcenter_V1_CostCenterService.ClientProtocol
    /// The Team service's own identity, which its calls to other services carry.
    var serviceIdentity: ServiceIdentity

    /// `id` normalised, once the Cost Center service has found it among the caller's tenant's cost centers (asked on
    /// the caller's behalf, so another tenant's answers as unknown); `""` stays `""` (none). When that service cannot
    /// answer, its UNAVAILABLE fails the call before anything is written.
    func checkedCostCenter(_ id: String, caller: Caller) async throws -> String {
        let id = id.trimmingCharacters(in: .whitespaces).lowercased()
        guard !id.isEmpty else { return "" }
        let unknown = TeamError.unprocessable(
            field: "cost_center_id", problem: "names a cost center that does not exist")
        guard EventID.isUUID(id) else { throw unknown }
        do {
            _ = try await costCenters.getCostCenter(
                .with { $0.publicID = id }, metadata: try await serviceIdentity.metadata(onBehalfOf: caller),
                options: ServiceConnections.nestedCall)
        } catch let error as RPCError where error.code == .notFound {
            throw unknown
        }
        return id
    }

    func caller(writing: Bool) throws -> Caller { try Caller.require(writing: writing) }

    // MARK: Teams

    public func createTeam(request: Bizretail_Team_V1_CreateTeamRequest, context: ServerContext) async throws
        -> Bizretail_Team_V1_Team
    {
        let caller = try caller(writing: true)
        let costCenter = try await checkedCostCenter(request.costCenterID, caller: caller)
        return .init(
            try await directory.createTeam(
                name: request.name, description: request.description_p,
                costCenterID: costCenter.isEmpty ? nil : costCenter, caller: caller))
    }

    public func getTeam(request: Bizretail_Team_V1_GetTeamRequest, context: ServerContext) async throws
        -> Bizretail_Team_V1_Team
    {
        .init(
            try await directory.team(
                try ServiceError.requiredID(request.publicID), tenantID: try caller(writing: false).principal.tenantID))
    }

    public func listTeams(request: Bizretail_Team_V1_ListTeamsRequest, context: ServerContext) async throws
        -> Bizretail_Team_V1_ListTeamsResponse
    {
        let tenant = try caller(writing: false).principal.tenantID
        let size = try Pagination.lists.size(request.pageSize)
        let teams = try await directory.teams(
            tenantID: tenant, after: try pageTokens.position(of: request.pageToken), limit: size + 1)
        let page = pageTokens.page(teams, size: size, position: \.id)
        return .with {
            $0.teams = page.rows.map(Bizretail_Team_V1_Team.init)
            $0.nextPageToken = page.next
        }
    }

    public func updateTeam(request: Bizretail_Team_V1_UpdateTeamRequest, context: ServerContext) async throws
        -> Bizretail_Team_V1_Team
    {
        let caller = try caller(writing: true)
        let costCenter =
            request.hasCostCenterID ? try await checkedCostCenter(request.costCenterID, caller: caller) : nil
        return .init(
            try await directory.changeTeam(
                try ServiceError.requiredID(request.publicID),
                .update(
                    name: request.hasName ? request.name : nil,
                    description: request.hasDescription_p ? request.description_p : nil, costCenterID: costCenter),
                expectedVersion: request.hasExpectedVersion ? request.expectedVersion : nil,
                caller: caller
            )
        )
    }

    public func setTeamEnabled(request: Bizretail_Team_V1_SetTeamEnabledRequest, context: ServerContext) async throws
        -> Bizretail_Team_V1_Team
    {
        .init(
            try await directory.changeTeam(
                try ServiceError.requiredID(request.publicID), .enable(request.enabled),
                caller: try caller(writing: true)))
    }

    public func deleteTeam(request: Bizretail_Team_V1_DeleteTeamRequest, context: ServerContext) async throws
        -> Bizretail_Team_V1_DeleteTeamResponse
    {
        try await directory.changeTeam(
            try ServiceError.requiredID(request.publicID), .delete, caller: try caller(writing: true))
        return .init()
    }

    // MARK: Accounts

    public func createAccount(request: Bizretail_Team_V1_CreateAccountRequest, context: ServerContext) async throws
        -> Bizretail_Team_V1_Account
    {
        .init(
            try await directory.createAccount(
                .init(
                    name: request.name, documentRegistry: request.documentRegistry, email: request.email,
                    teamIDs: request.teamIds),
                caller: try caller(writing: true)
            )
        )
    }

    public func getAccount(request: Bizretail_Team_V1_GetAccountRequest, context: ServerContext) async throws
        -> Bizretail_Team_V1_Account
    {
        .init(
            try await directory.account(
                try ServiceError.requiredID(request.publicID), tenantID: try caller(writing: false).principal.tenantID))
    }

    public func listAccounts(request: Bizretail_Team_V1_ListAccountsRequest, context: ServerContext) async throws
        -> Bizretail_Team_V1_ListAccountsResponse
    {
        let tenant = try caller(writing: false).principal.tenantID
        let size = try Pagination.lists.size(request.pageSize)
        let accounts = try await directory.accounts(
            tenantID: tenant, teamID: request.teamID.isEmpty ? nil : request.teamID.lowercased(),
            after: try pageTokens.position(of: request.pageToken), limit: size + 1
        )
        let page = pageTokens.page(accounts, size: size, position: \.id)
        return .with {
            $0.accounts = page.rows.map(Bizretail_Team_V1_Account.init)
            $0.nextPageToken = page.next
        }
    }

    public func updateAccount(request: Bizretail_Team_V1_UpdateAccountRequest, context: ServerContext) async throws
        -> Bizretail_Team_V1_Account
    {
        let update = TeamDirectory.AccountInput(
            name: request.hasName ? request.name : nil,
            documentRegistry: request.hasDocumentRegistry ? request.documentRegistry : nil,
            email: request.hasEmail ? request.email : nil, teamIDs: request.hasTeamIds ? request.teamIds.ids : nil
        )
        return .init(
            try await directory.changeAccount(
                try ServiceError.requiredID(request.publicID), update: update,
                expectedVersion: request.hasExpectedVersion ? request.expectedVersion : nil,
                caller: try caller(writing: true)
            )
        )
    }

    public func setAccountEnabled(request: Bizretail_Team_V1_SetAccountEnabledRequest, context: ServerContext)
        async throws
        -> Bizretail_Team_V1_Account
    {
        .init(
            try await directory.changeAccount(
                try ServiceError.requiredID(request.publicID), enabled: request.enabled,
                caller: try caller(writing: true)))
    }

    public func deleteAccount(request: Bizretail_Team_V1_DeleteAccountRequest, context: ServerContext) async throws
        -> Bizretail_Team_V1_DeleteAccountResponse
    {
        try await directory.changeAccount(
            try ServiceError.requiredID(request.publicID), delete: true, caller: try caller(writing: true))
        return .init()
    }
}

extension Bizretail_Team_V1_Team {
    init(_ team: TeamRecord) {
        self = .with {
            $0.id = team.id
            $0.publicID = team.publicID
            $0.tenantID = team.tenantID
            $0.name = team.name
            $0.description_p = team.description
            $0.costCenterID = team.costCenterID ?? ""
            $0.enabled = team.enabled
            $0.version = team.version
            $0.createdAt = .init(rfc3339: team.createdAt)
            $0.updatedAt = .init(rfc3339: team.updatedAt)
        }
    }
}

extension Bizretail_Team_V1_Account {
    init(_ account: AccountRecord) {
        self = .with {
            $0.id = account.id
            $0.publicID = account.publicID
            $0.tenantID = account.tenantID
            $0.name = account.name
            $0.documentRegistry = account.documentRegistry
            $0.email = account.email
            $0.teamIds = account.teamIDs
            $0.enabled = account.enabled
            $0.version = account.version
            $0.createdAt = .init(rfc3339: account.createdAt)
            $0.updatedAt = .init(rfc3339: account.updatedAt)
        }
    }
}
