import BizEvents
import BizProtos
import GRPCCore
import Hummingbird

/// `/v1/cost-centers` (the caller's tenant): create (201), read, list (`parent_id`, `code` filters; cursor pages),
/// JSON merge-patch update (`If-Match`), disable, enable, delete (204), and `/{id}/tree` (the subtree, nested).
struct CostCenterRoutes<Transport: ClientTransport> {
    var clients: ServiceClients<Transport>

    /// `budget.currency` when given: three letters (which of them are a currency is the service's to say: 422).
    static func currency(_ budget: JSONBody) throws -> String? {
        guard let currency = try budget.string("currency") else { return nil }
        guard currency.count == 3, currency.allSatisfy({ $0.isASCII && $0.isLetter }) else {
            throw Problem.badRequest("budget.currency must be three letters (ISO 4217)", field: "budget.currency")
        }
        return currency
    }

    func register(on v1: RouterGroup<GatewayContext>) {
        guard let connection = clients.connection(to: "cost-center") else { return }
        let costCenters = Bizretail_Costcenter_V1_CostCenterService.Client(wrapping: connection)
        let fields: Set<String> = ["code", "name", "parent_id", "budget"]
        let budgetFields: Set<String> = ["amount_cents", "currency"]
        v1.post("cost-centers") { request, context in
            let body = try await JSONBody.read(request, context: context, allowed: fields)
            var message = Bizretail_Costcenter_V1_CreateCostCenterRequest()
            message.code = try body.string("code", required: true)!
            message.name = try body.string("name", required: true)!
            message.parentID = try body.string("parent_id", nullable: true) ?? ""
            if let budget = try body.object("budget", allowed: budgetFields) {
                message.budget = try .with {
                    $0.amountCents = try budget.integer("amount_cents") ?? 0
                    $0.currency = try Self.currency(budget) ?? ""
                }
            }
            let created = try await clients.call(context) { metadata in
                try await costCenters.createCostCenter(message, metadata: metadata)
            }
            return resourceResponse(
                created.json, version: created.version, status: .created,
                location: "/v1/cost-centers/\(created.publicID)")
        }
        v1.get("cost-centers") { request, context in
            let (size, token) = try request.page()
            let parent = request.query("parent_id") ?? ""
            let code = request.query("code") ?? ""
            let page = try await clients.call(context) { metadata in
                try await costCenters.listCostCenters(
                    .with {
                        $0.pageSize = size
                        $0.pageToken = token
                        $0.parentID = parent
                        $0.code = code
                    }, metadata: metadata)
            }
            return pageResponse(page.costCenters.map(\.json), next: page.nextPageToken)
        }
        v1.get("cost-centers/:id") { _, context in
            let id = try context.parameters.require("id")
            let found = try await clients.call(context) { metadata in
                try await costCenters.getCostCenter(.with { $0.publicID = id }, metadata: metadata)
            }
            return resourceResponse(found.json, version: found.version)
        }
        v1.get("cost-centers/:id/tree") { _, context in
            let id = try context.parameters.require("id")
            let tree = try await clients.call(context) { metadata in
                try await costCenters.getCostCenterTree(.with { $0.publicID = id }, metadata: metadata)
            }
            return jsonResponse(tree.json)
        }
        v1.patch("cost-centers/:id") { request, context in
            let id = try context.parameters.require("id")
            let body = try await JSONBody.read(request, context: context, allowed: fields)
            var message = Bizretail_Costcenter_V1_UpdateCostCenterRequest()
            message.publicID = id
            if let value = try body.string("code") { message.code = value }
            if let value = try body.string("name") { message.name = value }
            if let value = try body.string("parent_id", nullable: true) { message.parentID = value }
            if let budget = try body.object("budget", allowed: budgetFields) {
                if let value = try budget.integer("amount_cents") { message.budget.amountCents = value }
                if let value = try Self.currency(budget) { message.budget.currency = value }
            }
            if let expected = try request.expectedVersion() { message.expectedVersion = expected }
            let updated = try await clients.call(context) { metadata in
                try await costCenters.updateCostCenter(message, metadata: metadata)
            }
            return resourceResponse(updated.json, version: updated.version)
        }
        v1.delete("cost-centers/:id") { _, context in
            let id = try context.parameters.require("id")
            _ = try await clients.call(context) { metadata in
                try await costCenters.deleteCostCenter(.with { $0.publicID = id }, metadata: metadata)
            }
            return Response(status: .noContent)
        }
        for (action, enabled) in [("disable", false), ("enable", true)] {
            v1.post("cost-centers/:id/\(action)") { _, context in
                let id = try context.parameters.require("id")
                let changed = try await clients.call(context) { metadata in
                    try await costCenters.setCostCenterEnabled(
                        .with {
                            $0.publicID = id
                            $0.enabled = enabled
                        }, metadata: metadata)
                }
                return resourceResponse(changed.json, version: changed.version)
            }
        }
    }
}

extension Bizretail_Costcenter_V1_CostCenter {
    var json: JSONValue {
        [
            "public_id": .string(publicID), "tenant_id": .string(tenantID), "code": .string(code),
            "name": .string(name), "parent_id": parentID.isEmpty ? .null : .string(parentID),
            "budget": ["amount_cents": .integer(budget.amountCents), "currency": .string(budget.currency)],
            "enabled": .bool(enabled), "status": .string(enabled ? "active" : "disabled"),
            "version": .integer(version), "created_at": .string(createdAt.rfc3339),
            "updated_at": .string(updatedAt.rfc3339),
        ]
    }
}

extension Bizretail_Costcenter_V1_CostCenterTree {
    /// The cost center's fields, with its `children` nested the same way.
    var json: JSONValue {
        guard case .object(var object) = costCenter.json else { return costCenter.json }
        object["children"] = .array(children.map(\.json))
        return .object(object)
    }
}
