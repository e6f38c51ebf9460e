import BizAuth
import BizEvents
import BizProtos
import BizServiceKit
import Foundation
import GRPCCore
import SwiftProtobuf

/// `bizretail.contractor.v1.ClientContractorService`: platform administrators only (the access rules refuse anyone
/// else before a handler runs).
public struct ContractorGRPCService: Bizretail_Contractor_V1_ClientContractorService.SimpleServiceProtocol {
    public var directory: ContractorDirectory
    public var pageTokens: PageTokens
    /// Creates a new tenant's first administrator.
    var identity: any Bizretail_Identity_V1_IdentityService.ClientProtocol
    /// The Client Contractor service's own identity, which its calls to other services carry.
    var serviceIdentity: ServiceIdentity

    public func createContractor(
        request: Bizretail_Contractor_V1_CreateContractorRequest, context: ServerContext
    ) async throws -> Bizretail_Contractor_V1_CreateContractorResponse {
        let caller = try Caller.require()
        var input = ContractorDirectory.Input()
        input.legalName = request.legalName
        input.tradeName = request.tradeName
        input.document = request.document
        input.contactEmail = request.contactEmail
        input.contactPhone = request.contactPhone
        if request.hasAddress { input.address = request.address.values }
        if request.hasContract {
            input.contract.plan = request.contract.plan
            if !request.contract.startDate.isEmpty { input.contract.startDate = request.contract.startDate }
            input.contract.endDate = request.contract.endDate
            if !request.contract.status.isEmpty { input.contract.status = request.contract.status }
        }
        let record = try directory.validatedNew(input)
        try await directory.requireUniqueDocument(of: record)
        // The administrator first: the Identity Provider refuses a taken email or a weak password before anything
        // is stored here, and when it is down nothing is created at all.
        var admin: Bizretail_Contractor_V1_CreatedAdmin?
        if request.hasAdmin {
            admin = try await createAdmin(request.admin, tenant: record.publicID, caller: caller)
        }
        let stored = try await directory.create(record, caller: caller)
        return .with {
            $0.contractor = .init(stored)
            if let admin { $0.admin = admin }
        }
    }

    /// The tenant's first user, role admin, with the given password or a generated one (returned once).
    func createAdmin(_ admin: Bizretail_Contractor_V1_FirstAdmin, tenant: String, caller: Caller) async throws
        -> Bizretail_Contractor_V1_CreatedAdmin
    {
        guard !admin.email.isEmpty else {
            throw ServiceError.invalidArgument(field: "admin.email", problem: "is required")
        }
        let name = try TextInput.required(
            admin.name.isEmpty ? admin.email : admin.name, field: "admin.name", limit: ContractorInput.nameBytes)
        do {
            let user = try await identity.createUser(
                .with {
                    $0.tenantID = tenant
                    $0.email = admin.email
                    $0.name = name
                    // Empty: the Identity Provider generates one and returns it this once.
                    $0.password = admin.password
                    $0.roles = ["admin"]
                }, metadata: try await serviceIdentity.metadata(onBehalfOf: caller),
                options: ServiceConnections.nestedCall)
            return .with {
                $0.publicID = user.publicID
                $0.email = user.email
                $0.generatedPassword = user.generatedPassword
            }
        } catch let error as RPCError where [.invalidArgument, .alreadyExists].contains(error.code) {
            // The Identity Provider names its own field (`email`); here it is the request's `admin.email`. Only the
            // error's own keys are passed on (its trailers also hold the transport's).
            let field = error.metadata[stringValues: ErrorMetadata.field].first(where: { _ in true }) ?? "email"
            var metadata: Metadata = [ErrorMetadata.field: "admin.\(field)"]
            if let reason = error.metadata[stringValues: ErrorMetadata.reason].first(where: { _ in true }) {
                metadata.addString(reason, forKey: ErrorMetadata.reason)
            }
            throw RPCError(code: error.code, message: "admin: \(error.message)", metadata: metadata)
        }
    }

    public func getContractor(request: Bizretail_Contractor_V1_GetContractorRequest, context: ServerContext)
        async throws -> Bizretail_Contractor_V1_Contractor
    {
        .init(try await directory.contractor(try ServiceError.requiredID(request.publicID)))
    }

    public func listContractors(request: Bizretail_Contractor_V1_ListContractorsRequest, context: ServerContext)
        async throws -> Bizretail_Contractor_V1_ListContractorsResponse
    {
        let size = try Pagination.lists.size(request.pageSize)
        let records = try await directory.contractors(
            status: request.status.isEmpty ? nil : request.status,
            document: request.document.isEmpty ? nil : request.document,
            after: try pageTokens.position(of: request.pageToken), limit: size + 1)
        let page = pageTokens.page(records, size: size, position: \.id)
        return .with {
            $0.contractors = page.rows.map(Bizretail_Contractor_V1_Contractor.init)
            $0.nextPageToken = page.next
        }
    }

    public func updateContractor(request: Bizretail_Contractor_V1_UpdateContractorRequest, context: ServerContext)
        async throws -> Bizretail_Contractor_V1_Contractor
    {
        var input = ContractorDirectory.Input()
        if request.hasLegalName { input.legalName = request.legalName }
        if request.hasTradeName { input.tradeName = request.tradeName }
        if request.hasDocument { input.document = request.document }
        if request.hasContactEmail { input.contactEmail = request.contactEmail }
        if request.hasContactPhone { input.contactPhone = request.contactPhone }
        if request.hasAddress { input.address = request.address.values }
        if request.hasContract {
            let patch = request.contract
            if patch.hasPlan { input.contract.plan = patch.plan }
            if patch.hasStartDate { input.contract.startDate = patch.startDate }
            if patch.hasEndDate { input.contract.endDate = patch.endDate }
            if patch.hasStatus { input.contract.status = patch.status }
        }
        return .init(
            try await directory.change(
                try ServiceError.requiredID(request.publicID), .update(input),
                expectedVersion: request.hasExpectedVersion ? request.expectedVersion : nil,
                caller: try Caller.require()))
    }

    public func setContractorEnabled(
        request: Bizretail_Contractor_V1_SetContractorEnabledRequest, context: ServerContext
    ) async throws -> Bizretail_Contractor_V1_Contractor {
        .init(
            try await directory.change(
                try ServiceError.requiredID(request.publicID), .enable(request.enabled), caller: try Caller.require()))
    }

    public func deleteContractor(request: Bizretail_Contractor_V1_DeleteContractorRequest, context: ServerContext)
        async throws -> Bizretail_Contractor_V1_DeleteContractorResponse
    {
        try await directory.change(try ServiceError.requiredID(request.publicID), .delete, caller: try Caller.require())
        return .init()
    }
}

/// `bizretail.contractor.v1.TenantService`: whether a tenant exists and may work, for the services that keep
/// per-tenant data (a cost center needs an active tenant). A caller learns about its own tenant only; the platform's
/// callers about any.
public struct TenantGRPCService: Bizretail_Contractor_V1_TenantService.SimpleServiceProtocol {
    public var directory: ContractorDirectory

    public func getTenant(request: Bizretail_Contractor_V1_GetTenantRequest, context: ServerContext) async throws
        -> Bizretail_Contractor_V1_Tenant
    {
        let caller = try Caller.require()
        let own = caller.principal.tenantID
        let tenant = request.tenantID.isEmpty ? own : request.tenantID.lowercased()
        if tenant == AuthInterceptor.platformTenant {
            guard own == AuthInterceptor.platformTenant else { throw ServiceError.notFound("tenant") }
            return .with {
                $0.tenantID = tenant
                $0.active = true
                $0.status = "platform"
                $0.tradeName = "Biz Retail"
            }
        }
        guard tenant == own || own == AuthInterceptor.platformTenant,
            let record = try await directory.tenant(tenant)
        else { throw ServiceError.notFound("tenant") }
        return .with {
            $0.tenantID = record.publicID
            $0.active = record.isActive(on: ContractorInput.today())
            $0.status = record.contract.status
            $0.tradeName = record.tradeName
            $0.ownershipID = record.ownershipID
        }
    }
}

extension Bizretail_Contractor_V1_Contractor {
    init(_ record: ContractorRecord) {
        self = .with {
            $0.id = record.id
            $0.publicID = record.publicID
            $0.legalName = record.legalName
            $0.tradeName = record.tradeName
            $0.documentType = record.documentType
            $0.document = record.document
            $0.contactEmail = record.contactEmail
            $0.contactPhone = record.contactPhone
            $0.address = .with { address in
                address.street = record.address.street
                address.number = record.address.number
                address.complement = record.address.complement
                address.district = record.address.district
                address.city = record.address.city
                address.state = record.address.state
                address.postalCode = record.address.postalCode
                address.country = record.address.country
            }
            $0.contract = .with { contract in
                contract.plan = record.contract.plan
                contract.startDate = record.contract.startDate
                contract.endDate = record.contract.endDate
                contract.status = record.contract.status
            }
            $0.enabled = record.enabled
            $0.version = record.version
            $0.createdAt = .init(rfc3339: record.createdAt)
            $0.updatedAt = .init(rfc3339: record.updatedAt)
        }
    }
}

extension Bizretail_Contractor_V1_Address {
    /// Every field, empty ones included (a create sets them all).
    var values: [ContractorRecord.Address.Field: String] {
        [
            \.street: street, \.number: number, \.complement: complement, \.district: district, \.city: city,
            \.state: state, \.postalCode: postalCode, \.country: country,
        ]
    }
}

extension Bizretail_Contractor_V1_AddressPatch {
    /// The fields the patch names.
    var values: [ContractorRecord.Address.Field: String] {
        var values: [ContractorRecord.Address.Field: String] = [:]
        if hasStreet { values[\.street] = street }
        if hasNumber { values[\.number] = number }
        if hasComplement { values[\.complement] = complement }
        if hasDistrict { values[\.district] = district }
        if hasCity { values[\.city] = city }
        if hasState { values[\.state] = state }
        if hasPostalCode { values[\.postalCode] = postalCode }
        if hasCountry { values[\.country] = country }
        return values
    }
}
