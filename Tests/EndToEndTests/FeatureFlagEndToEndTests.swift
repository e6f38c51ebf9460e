import BizEvents
import BizFlags
import BizTesting
import Foundation
import Testing

extension GatewayEndToEndTests {
    /// Writes a flag file as an editor or a Kubernetes volume does: whole, by rename.
    static func writeFlags(_ json: JSONValue, to path: String) throws {
        try Data(json.canonicalBytes()).write(to: URL(fileURLWithPath: path + ".new"))
        guard rename(path + ".new", path) == 0 else { throw POSIXError(.EIO) }
    }

    static func flag(_ variants: JSONValue, default variant: String, targeting: JSONValue? = nil) -> JSONValue {
        var flag: [String: JSONValue] = [
            "state": "ENABLED", "variants": variants, "defaultVariant": .string(variant),
        ]
        if let targeting { flag["targeting"] = targeting }
        return .object(flag)
    }

    static let onOff: JSONValue = ["on": true, "off": false]

    @Test(
        "feature flags from a flag file edited live: a route rolled out to a fraction of tenants, the password grant turned off for one client, a tenant's email channel off, every flag for the caller, the changes audited, a malformed file refused",
        arguments: Topology.allCases)
    func featureFlags(_ topology: Topology) async throws {
        try await withTemporaryDirectory { scratch in
            let file = scratch + "/flags.json"
            var flags: [String: JSONValue] = [
                "unread-count-route": Self.flag(Self.onOff, default: "off"),
                "password-grant": Self.flag(Self.onOff, default: "on"),
            ]
            try Self.writeFlags(["flags": .object(flags)], to: file)
            let environment = ["BIZ_FLAGS_FILE": file, "BIZ_FLAGS_POLL_MS": "200"]
            try await withSystem(topology, environment: environment) { system, https, platform in
                let north = try await Self.tenant(
                    https, system, platform: platform, document: "11.222.333/0001-81", email: "admin@norte.com.br")
                let south = try await Self.tenant(
                    https, system, platform: platform, document: "12.ABC.345/01DE-35", email: "admin@sul.com.br")

                // Off by default: the route does not exist.
                let off = try await https.request("GET", "/v1/notifications/unread-count", bearer: north.token)
                #expect(off.status == 404, "\(off.text)")
                let listed = try await https.request("GET", "/v1/feature-flags", bearer: north.token)
                #expect(listed.status == 200)
                let items = try #require(listed.json?["items"]?.arrayValue, "\(listed.text)")
                #expect(items.map { $0["key"] } == ["password-grant", "unread-count-route"])
                #expect(items.last?["value"] == false && items.last?["reason"] == "STATIC")

                // Rolled out to half the tenants by flagd's fractional on tenant_id; the email channel off for
                // north; the password grant off for the bootstrap client.
                let clientID = try #require(system.bootstrapCredential("client_id"))
                flags["unread-count-route"] = Self.flag(
                    Self.onOff, default: "off",
                    targeting: ["fractional": [["var": "tenant_id"], ["on", 50], ["off", 50]]])
                flags["password-grant"] = Self.flag(
                    Self.onOff, default: "on",
                    targeting: ["if": [["==": [["var": "client_id"], .string(clientID)]], "off", "on"]])
                flags["notifications-email"] = Self.flag(
                    Self.onOff, default: "on",
                    targeting: ["if": [["==": [["var": "tenant_id"], .string(north.id)]], "off", nil]])
                let edited: JSONValue = ["flags": .object(flags)]
                try Self.writeFlags(edited, to: file)
                let expected = FeatureFlags(try FlagSet.parse(edited.canonicalBytes()))
                try await BizRetailProcess.eventually(timeout: .seconds(10), "the edited flags in force") {
                    let page = try await https.request("GET", "/v1/feature-flags", bearer: north.token)
                    return page.json?["items"]?.arrayValue?.count == 3
                }
                // Every process polls the file on its own: give the others one more poll.
                try await Task.sleep(for: .milliseconds(600))
                for tenant in [north, south] {
                    let on = expected.boolean(
                        "unread-count-route", default: false,
                        context: EvaluationContext(user: nil, tenant: tenant.id))
                    let response = try await https.request(
                        "GET", "/v1/notifications/unread-count", bearer: tenant.token)
                    #expect(response.status == (on ? 200 : 404), "\(tenant.id): \(response.text)")
                    if on { #expect(response.json?["unread_count"] == 0) }
                }
                let refused = try await https.token(
                    ["grant_type": "password", "username": "admin@norte.com.br", "password": "Senha-forte-1-81"],
                    basic: (clientID, try #require(system.bootstrapCredential("client_secret"))))
                #expect(refused.status == 400, "\(refused.text)")
                #expect(refused.json?["error"] == "unauthorized_client")
                #expect(refused.json?["error_description"] == "the password grant is turned off for this client")
                let caller = try await https.request("GET", "/v1/feature-flags", bearer: north.token)
                let grant = caller.json?["items"]?.arrayValue?.first { $0["key"] == "password-grant" }
                // The caller's context has no client_id: the grant is on for it.
                #expect(grant?["reason"] == "TARGETING_MATCH" && grant?["value"] == true)

                // North's new account gets no welcome email; south's does (it fails: there is no SMTP server).
                for (tenant, name) in [(north, "Maria Silva"), (south, "João Souza")] {
                    let account = try await https.json(
                        "POST", "/v1/accounts",
                        ["name": .string(name), "document_registry": "529.982.247-25", "email": "pessoa@example.com"],
                        bearer: tenant.token)
                    #expect(account.status == 201, "\(account.text)")
                }
                try await BizRetailProcess.eventually(timeout: .seconds(30), "south's welcome email delivery") {
                    let page = try await https.request(
                        "GET", "/v1/notification-deliveries?channel=email", bearer: south.token)
                    return page.json?["items"]?.arrayValue?.count == 1
                }
                let northMails = try await https.request(
                    "GET", "/v1/notification-deliveries?channel=email", bearer: north.token)
                #expect(northMails.json?["items"] == [], "\(northMails.text)")

                // A malformed edit is refused: the flags in force stay.
                try Data(#"{"flags": {"password-grant": {"state": "ENABLED"}}}"#.utf8).write(
                    to: URL(fileURLWithPath: file))
                try await Task.sleep(for: .milliseconds(800))
                let still = try await https.request("GET", "/v1/feature-flags", bearer: north.token)
                #expect(still.json?["items"]?.arrayValue?.count == 3)

                // The audit holds each change with its definition before and after. Each flag is its own entity,
                // so its event may be stored before or after another's (Kafka partitions by entity): each is awaited.
                func audited(_ flag: String) async throws -> [JSONValue] {
                    var versions: [JSONValue] = []
                    try await BizRetailProcess.eventually(timeout: .seconds(20), "\(flag)'s change audited") {
                        versions =
                            try await https.request(
                                "GET", "/v1/audit/entities/feature_flag/\(flag)/versions", bearer: platform
                            ).json?["items"]?.arrayValue ?? []
                        return !versions.isEmpty
                    }
                    return versions
                }
                let versions = try await audited("password-grant")
                #expect(versions.count == 1)
                let payload = versions.first?["envelope"]?["payload"]
                #expect(payload?["before"]?["targeting"] == nil && payload?["before"]?["defaultVariant"] == "on")
                #expect(payload?["after"]?["targeting"]?["if"] != nil)
                #expect(versions.first?["envelope"]?["metadata"]?["owner_type"] == "service")
                let added = try await audited("notifications-email")
                #expect(added.first?["envelope"]?["payload"]?["before"] == .null)
            }
        }
    }
}
