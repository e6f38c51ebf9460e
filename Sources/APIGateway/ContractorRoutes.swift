import BizAuth
import BizEvents
import BizProtos
import GRPCCore
import Hummingbird

/// `/v1/client-contractors` (platform administrators): create (201, with the tenant's first admin when the body
/// names one), read, list (`status`, `document` filters; cursor pages), JSON merge-patch update (`If-Match`),
/// disable, enable, delete (204).
struct ContractorRoutes<Transport: ClientTransport> {
    var clients: ServiceClients<Transport>

    func register(on v1: RouterGroup<GatewayContext>) {
        guard let connection = clients.connection(to: "contractor") else { return }
        let contractors = Bizretail_Contractor_V1_ClientContractorService.Client(wrapping: connection)
        v1.post("client-contractors") { request, context in
            let body = try await JSONBody.read(request, context: context, allowed: ContractorFields.all)
            var message = Bizretail_Contractor_V1_CreateContractorRequest()
            message.legalName = try body.string("legal_name", required: true)!
            message.tradeName = try body.string("trade_name", nullable: true) ?? ""
            message.document = try body.string("document", required: true)!
            message.contactEmail = try body.string("contact_email", required: true)!
            message.contactPhone = try body.string("contact_phone", nullable: true) ?? ""
            if let address = try body.object("address", allowed: ContractorFields.address) {
                message.address = try .with {
                    $0.street = try address.string("street", nullable: true) ?? ""
                    $0.number = try address.string("number", nullable: true) ?? ""
                    $0.complement = try address.string("complement", nullable: true) ?? ""
                    $0.district = try address.string("district", nullable: true) ?? ""
                    $0.city = try address.string("city", nullable: true) ?? ""
                    $0.state = try address.string("state", nullable: true) ?? ""
                    $0.postalCode = try address.string("postal_code", nullable: true) ?? ""
                    $0.country = try address.string("country", nullable: true) ?? ""
                }
            }
            guard let contract = try body.object("contract", allowed: ContractorFields.contract) else {
                throw Problem.badRequest("contract is required", field: "contract")
            }
            message.contract = try .with {
                $0.plan = try contract.string("plan", required: true)!
                $0.startDate = try contract.string("starts_on", nullable: true) ?? ""
                $0.endDate = try contract.string("ends_on", nullable: true) ?? ""
                $0.status = try contract.string("status", nullable: true) ?? ""
            }
            if let admin = try body.object("admin", allowed: ["email", "name", "password"]) {
                message.admin = try .with {
                    $0.email = try admin.string("email", required: true)!
                    $0.name = try admin.string("name", nullable: true) ?? ""
                    $0.password = try admin.string("password", nullable: true) ?? ""
                }
            }
            let created = try await clients.call(context) { metadata in
                try await contractors.createContractor(message, metadata: metadata)
            }
            var json = created.contractor.json
            if created.hasAdmin, case .object(var object) = json {
                var admin: [String: JSONValue] = [
                    "public_id": .string(created.admin.publicID), "email": .string(created.admin.email),
                ]
                if !created.admin.generatedPassword.isEmpty {
                    admin["generated_password"] = .string(created.admin.generatedPassword)
                }
                object["admin"] = .object(admin)
                json = .object(object)
            }
            var response = resourceResponse(
                json, version: created.contractor.version, status: .created,
                location: "/v1/client-contractors/\(created.contractor.publicID)")
            // A generated password is in this body only: no cache may keep it.
            response.headers[.cacheControl] = "no-store"
            return response
        }
        v1.get("client-contractors") { request, context in
            let (size, token) = try request.page()
            let (status, document) = (request.query("status"), request.query("document"))
            for (name, value) in [("status", status), ("document", document)] where value == "" {
                throw Problem.badRequest("\(name) may not be empty", field: name)
            }
            let page = try await clients.call(context) { metadata in
                try await contractors.listContractors(
                    .with {
                        $0.pageSize = size
                        $0.pageToken = token
                        $0.status = status ?? ""
                        $0.document = document ?? ""
                    }, metadata: metadata)
            }
            return pageResponse(page.contractors.map(\.json), next: page.nextPageToken)
        }
        v1.get("client-contractors/:id") { _, context in
            let id = try context.parameters.require("id")
            let contractor = try await clients.call(context) { metadata in
                try await contractors.getContractor(.with { $0.publicID = id }, metadata: metadata)
            }
            return resourceResponse(contractor.json, version: contractor.version)
        }
        v1.patch("client-contractors/:id") { request, context in
            let id = try context.parameters.require("id")
            let body = try await JSONBody.read(
                request, context: context, allowed: ContractorFields.all.subtracting(["admin"]))
            var message = Bizretail_Contractor_V1_UpdateContractorRequest()
            message.publicID = id
            if let value = try body.string("legal_name") { message.legalName = value }
            if let value = try body.string("trade_name", nullable: true) { message.tradeName = value }
            if let value = try body.string("document") { message.document = value }
            if let value = try body.string("contact_email") { message.contactEmail = value }
            if let value = try body.string("contact_phone", nullable: true) { message.contactPhone = value }
            if let address = try body.object("address", allowed: ContractorFields.address) {
                var patch = Bizretail_Contractor_V1_AddressPatch()
                if let value = try address.string("street", nullable: true) { patch.street = value }
                if let value = try address.string("number", nullable: true) { patch.number = value }
                if let value = try address.string("complement", nullable: true) { patch.complement = value }
                if let value = try address.string("district", nullable: true) { patch.district = value }
                if let value = try address.string("city", nullable: true) { patch.city = value }
                if let value = try address.string("state", nullable: true) { patch.state = value }
                if let value = try address.string("postal_code", nullable: true) { patch.postalCode = value }
                if let value = try address.string("country", nullable: true) { patch.country = value }
                message.address = patch
            }
            if let contract = try body.object("contract", allowed: ContractorFields.contract) {
                var patch = Bizretail_Contractor_V1_ContractPatch()
                if let value = try contract.string("plan") { patch.plan = value }
                if let value = try contract.string("starts_on") { patch.startDate = value }
                if let value = try contract.string("ends_on", nullable: true) { patch.endDate = value }
                if let value = try contract.string("status") { patch.status = value }
                message.contract = patch
            }
            if let expected = try request.expectedVersion() { message.expectedVersion = expected }
            let contractor = try await clients.call(context) { metadata in
                try await contractors.updateContractor(message, metadata: metadata)
            }
            return resourceResponse(contractor.json, version: contractor.version)
        }
        v1.delete("client-contractors/:id") { _, context in
            let id = try context.parameters.require("id")
            _ = try await clients.call(context) { metadata in
                try await contractors.deleteContractor(.with { $0.publicID = id }, metadata: metadata)
            }
            return Response(status: .noContent)
        }
        for (action, enabled) in [("disable", false), ("enable", true)] {
            v1.post("client-contractors/:id/\(action)") { _, context in
                let id = try context.parameters.require("id")
                let contractor = try await clients.call(context) { metadata in
                    try await contractors.setContractorEnabled(
                        .with {
                            $0.publicID = id
                            $0.enabled = enabled
                        }, metadata: metadata)
                }
                return resourceResponse(contractor.json, version: contractor.version)
            }
        }
    }
}

/// The fields a contractor's JSON body may have.
enum ContractorFields {
    static let all: Set<String> = [
        "legal_name", "trade_name", "document", "contact_email", "contact_phone", "address", "contract", "admin",
    ]
    static let address: Set<String> = [
        "street", "number", "complement", "district", "city", "state", "postal_code", "country",
    ]
    static let contract: Set<String> = ["plan", "starts_on", "ends_on", "status"]
}

extension Bizretail_Contractor_V1_Contractor {
    /// The API's view: the document formatted (`12.ABC.345/01DE-35`), an open-ended contract's `ends_on` null.
    var json: JSONValue {
        [
            "public_id": .string(publicID), "tenant_id": .string(publicID), "legal_name": .string(legalName),
            "trade_name": .string(tradeName), "document_type": .string(documentType),
            "document": .string(documentType == "cnpj" ? CNPJ.formatted(document) : CPF.formatted(document)),
            "contact_email": .string(contactEmail),
            "contact_phone": contactPhone.isEmpty ? .null : .string(contactPhone),
            "address": [
                "street": .string(address.street), "number": .string(address.number),
                "complement": .string(address.complement), "district": .string(address.district),
                "city": .string(address.city), "state": .string(address.state),
                "postal_code": .string(address.postalCode), "country": .string(address.country),
            ],
            "contract": [
                "plan": .string(contract.plan), "starts_on": .string(contract.startDate),
                "ends_on": contract.endDate.isEmpty ? .null : .string(contract.endDate),
                "status": .string(contract.status),
            ],
            "enabled": .bool(enabled), "version": .integer(version), "created_at": .string(createdAt.rfc3339),
            "updated_at": .string(updatedAt.rfc3339),
        ]
    }
}
