import ArgumentParser
import BizEvents
import BizProtos
import Foundation
import GRPCCore

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read the audit trail of a running system.",
        subcommands: [History.self]
    )

    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every version of one entity, oldest first.")

        @Argument(help: "The entity type (the event type's prefix, e.g. account).")
        var entityType: String

        @Argument(help: "The entity id (its public_id).")
        var entityID: String

        @Flag(help: "Print a JSON array instead of a table.")
        var json = false

        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let response = try await connection.withClient { client, metadata in
                try await Bizretail_Audit_V1_AuditService.Client(wrapping: client).getEntityHistory(
                    .with {
                        $0.entityType = entityType
                        $0.entityID = entityID
                    },
                    metadata: metadata
                )
            }
            if json {
                let versions: [JSONValue] = response.versions.map { version in
                    [
                        "entity_type": .string(version.entityType), "entity_id": .string(version.entityID),
                        "version": .integer(version.version), "action_type": .string(version.actionType),
                        "action_at": .string(EventTimestamp(version.actionAt).rfc3339),
                        "is_active": .bool(version.isActive), "event_id": .string(version.eventID),
                        "event_type": .string(version.eventType),
                        "envelope": (try? JSONParser.parse(Array(version.envelopeJson.utf8))) ?? .null,
                    ]
                }
                print(JSONValue.array(versions).canonicalString())
                return
            }
            guard !response.versions.isEmpty else {
                print("no versions of \(entityType) \(entityID)")
                return
            }
            print("VERSION\tACTION\tACTION_AT\tACTIVE\tEVENT_TYPE\tEVENT_ID")
            for version in response.versions {
                print(
                    "\(version.version)\t\(version.actionType)\t\(EventTimestamp(version.actionAt).rfc3339)\t"
                        + "\(version.isActive ? "yes" : "no")\t\(version.eventType)\t\(version.eventID)"
                )
            }
        }
    }
}
