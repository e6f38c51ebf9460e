import BizEvents
import BizProtos
import GRPCCore
import Hummingbird

/// `/v1/audit`: version history, events by trace / ownership / type / tenant, ownerships. Admins only: a tenant's
/// admins read their own tenant's trail (another tenant's entity or data subject is 404), the platform's admins all
/// of it. (The Audit service enforces the same rules on its own.)
struct AuditRoutes<Transport: ClientTransport> {
    var clients: ServiceClients<Transport>

    func register(on v1: RouterGroup<GatewayContext>) {
        let audit = clients.audit
        v1.get("audit/entities/:entity_type/:entity_id/versions") { _, context in
            _ = try context.require(anyOf: ["admin"])
            let type = try context.parameters.require("entity_type")
            let id = try context.parameters.require("entity_id")
            let history = try await clients.call(context) { metadata in
                try await audit.getEntityHistory(
                    .with {
                        $0.entityType = type
                        $0.entityID = id
                    }, metadata: metadata)
            }
            guard !history.versions.isEmpty else { throw Problem.notFound("no versions of \(type) \(id)") }
            let versions: [JSONValue] = history.versions.map { version in
                [
                    "entity_type": .string(version.entityType), "entity_id": .string(version.entityID),
                    "version": .integer(version.version), "action_type": .string(version.actionType),
                    "action_at": .string(version.actionAt.rfc3339), "is_active": .bool(version.isActive),
                    "event_id": .string(version.eventID), "event_type": .string(version.eventType),
                    "tenant_id": .string(version.tenantID),
                    "envelope": (try? JSONParser.parse(Array(version.envelopeJson.utf8))) ?? .null,
                ]
            }
            return jsonResponse(["items": .array(versions)])
        }
        v1.get("audit/events") { request, context in
            _ = try context.require(anyOf: ["admin"])
            let (size, token) = try request.page()
            let events = try await clients.call(context) { metadata in
                try await audit.listEvents(
                    .with {
                        $0.traceID = request.query("trace_id") ?? ""
                        $0.ownershipID = request.query("ownership_id") ?? ""
                        $0.eventType = request.query("event_type") ?? ""
                        $0.tenantID = request.query("tenant_id") ?? ""
                        $0.pageSize = size
                        $0.pageToken = token
                    },
                    metadata: metadata
                )
            }
            let items: [JSONValue] = events.events.map { event in
                (try? JSONParser.parse(Array(event.envelopeJson.utf8))) ?? .null
            }
            return pageResponse(items, next: events.nextPageToken)
        }
        v1.get("audit/ownerships/:ownership_id") { _, context in
            _ = try context.require(anyOf: ["admin"])
            let id = try context.parameters.require("ownership_id")
            let ownership = try await clients.call(context) { metadata in
                try await audit.getOwnership(.with { $0.ownershipID = id }, metadata: metadata)
            }
            let body: JSONValue = [
                "ownership_id": .string(ownership.ownershipID),
                "subject_entity_type": .string(ownership.subjectEntityType),
                "subject_entity_id": .string(ownership.subjectEntityID),
                "first_seen_at": .string(ownership.firstSeenAt.rfc3339),
                "last_seen_at": .string(ownership.lastSeenAt.rfc3339), "event_count": .integer(ownership.eventCount),
                "producer_services": .array(ownership.producerServices.map(JSONValue.string)),
            ]
            return jsonResponse(body)
        }
    }
}
