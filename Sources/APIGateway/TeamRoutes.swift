import BizEvents
import BizProtos
import Foundation
import GRPCCore
import HTTPTypes
import Hummingbird
import SwiftProtobuf

/// `/v1/teams` and `/v1/accounts`: create (201), read, list (cursor pages), JSON merge-patch update (200; `If-Match`
/// honoured), delete (204), disable and enable.
struct TeamRoutes<Transport: ClientTransport> {
    var clients: ServiceClients<Transport>

    func register(on v1: RouterGroup<GatewayContext>) {
        let teams = clients.teams
        let teamFields: Set<String> = ["name", "description", "cost_center_id"]
        v1.post("teams") { request, context in
            let body = try await JSONBody.read(request, context: context, allowed: teamFields)
            let name = try body.string("name", required: true)!
            let description = try body.string("description", nullable: true) ?? ""
            let costCenter = try body.string("cost_center_id", nullable: true) ?? ""
            let team = try await clients.call(context) { metadata in
                try await teams.createTeam(
                    .with {
                        $0.name = name
                        $0.description_p = description
                        $0.costCenterID = costCenter
                    }, metadata: metadata)
            }
            return resourceResponse(
                team.json, version: team.version, status: .created, location: "/v1/teams/\(team.publicID)")
        }
        v1.get("teams") { request, context in
            let (size, token) = try request.page()
            let page = try await clients.call(context) { metadata in
                try await teams.listTeams(
                    .with {
                        $0.pageSize = size
                        $0.pageToken = token
                    }, metadata: metadata)
            }
            return pageResponse(page.teams.map(\.json), next: page.nextPageToken)
        }
        v1.get("teams/:id") { _, context in
            let id = try context.parameters.require("id")
            let team = try await clients.call(context) { metadata in
                try await teams.getTeam(.with { $0.publicID = id }, metadata: metadata)
            }
            return resourceResponse(team.json, version: team.version)
        }
        v1.patch("teams/:id") { request, context in
            let id = try context.parameters.require("id")
            let body = try await JSONBody.read(request, context: context, allowed: teamFields)
            let name = try body.string("name")
            let description = try body.string("description", nullable: true)
            let costCenter = try body.string("cost_center_id", nullable: true)
            let expected = try request.expectedVersion()
            let team = try await clients.call(context) { metadata in
                try await teams.updateTeam(
                    .with {
                        $0.publicID = id
                        if let name { $0.name = name }
                        if let description { $0.description_p = description }
                        if let costCenter { $0.costCenterID = costCenter }
                        if let expected { $0.expectedVersion = expected }
                    },
                    metadata: metadata
                )
            }
            return resourceResponse(team.json, version: team.version)
        }
        v1.delete("teams/:id") { _, context in
            let id = try context.parameters.require("id")
            _ = try await clients.call(context) { metadata in
                try await teams.deleteTeam(.with { $0.publicID = id }, metadata: metadata)
            }
            return Response(status: .noContent)
        }
        for (action, enabled) in [("disable", false), ("enable", true)] {
            v1.post("teams/:id/\(action)") { _, context in
                let id = try context.parameters.require("id")
                let team = try await clients.call(context) { metadata in
                    try await teams.setTeamEnabled(
                        .with {
                            $0.publicID = id
                            $0.enabled = enabled
                        }, metadata: metadata)
                }
                return resourceResponse(team.json, version: team.version)
            }
        }

        let accountFields: Set<String> = ["name", "document_registry", "email", "team_ids"]
        v1.post("accounts") { request, context in
            let body = try await JSONBody.read(request, context: context, allowed: accountFields)
            let name = try body.string("name", required: true)!
            let document = try body.string("document_registry", required: true)!
            let email = try body.string("email", required: true)!
            let teamIDs = try body.strings("team_ids") ?? []
            let account = try await clients.call(context) { metadata in
                try await teams.createAccount(
                    .with {
                        $0.name = name
                        $0.documentRegistry = document
                        $0.email = email
                        $0.teamIds = teamIDs
                    },
                    metadata: metadata
                )
            }
            return resourceResponse(
                account.json, version: account.version, status: .created, location: "/v1/accounts/\(account.publicID)"
            )
        }
        v1.get("accounts") { request, context in
            let (size, token) = try request.page()
            let teamID = request.query("team_id") ?? ""
            let page = try await clients.call(context) { metadata in
                try await teams.listAccounts(
                    .with {
                        $0.pageSize = size
                        $0.pageToken = token
                        $0.teamID = teamID
                    },
                    metadata: metadata
                )
            }
            return pageResponse(page.accounts.map(\.json), next: page.nextPageToken)
        }
        v1.get("accounts/:id") { _, context in
            let id = try context.parameters.require("id")
            let account = try await clients.call(context) { metadata in
                try await teams.getAccount(.with { $0.publicID = id }, metadata: metadata)
            }
            return resourceResponse(account.json, version: account.version)
        }
        v1.patch("accounts/:id") { request, context in
            let id = try context.parameters.require("id")
            let body = try await JSONBody.read(request, context: context, allowed: accountFields)
            let name = try body.string("name")
            let document = try body.string("document_registry")
            let email = try body.string("email")
            let teamIDs = try body.strings("team_ids")
            let expected = try request.expectedVersion()
            let account = try await clients.call(context) { metadata in
                try await teams.updateAccount(
                    .with {
                        $0.publicID = id
                        if let name { $0.name = name }
                        if let document { $0.documentRegistry = document }
                        if let email { $0.email = email }
                        if let teamIDs { $0.teamIds = .with { $0.ids = teamIDs } }
                        if let expected { $0.expectedVersion = expected }
                    },
                    metadata: metadata
                )
            }
            return resourceResponse(account.json, version: account.version)
        }
        v1.delete("accounts/:id") { _, context in
            let id = try context.parameters.require("id")
            _ = try await clients.call(context) { metadata in
                try await teams.deleteAccount(.with { $0.publicID = id }, metadata: metadata)
            }
            return Response(status: .noContent)
        }
        for (action, enabled) in [("disable", false), ("enable", true)] {
            v1.post("accounts/:id/\(action)") { _, context in
                let id = try context.parameters.require("id")
                let account = try await clients.call(context) { metadata in
                    try await teams.setAccountEnabled(
                        .with {
                            $0.publicID = id
                            $0.enabled = enabled
                        }, metadata: metadata)
                }
                return resourceResponse(account.json, version: account.version)
            }
        }
    }

}

extension Bizretail_Team_V1_Team {
    var json: JSONValue {
        [
            "public_id": .string(publicID), "tenant_id": .string(tenantID), "name": .string(name),
            "description": .string(description_p),
            "cost_center_id": costCenterID.isEmpty ? .null : .string(costCenterID),
            "enabled": .bool(enabled), "version": .integer(version),
            "created_at": .string(createdAt.rfc3339), "updated_at": .string(updatedAt.rfc3339),
        ]
    }
}

extension Bizretail_Team_V1_Account {
    var json: JSONValue {
        [
            "public_id": .string(publicID), "tenant_id": .string(tenantID), "name": .string(name),
            "document_registry": .string(documentRegistry), "email": .string(email),
            "team_ids": .array(teamIds.map(JSONValue.string)), "enabled": .bool(enabled), "version": .integer(version),
            "created_at": .string(createdAt.rfc3339), "updated_at": .string(updatedAt.rfc3339),
        ]
    }
}
