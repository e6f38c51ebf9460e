import BizAuth
import BizEvents
import BizFlags
import Hummingbird

extension EvaluationContext {
    /// The caller's context: `targetingKey` its user id, `tenant_id`, `roles`, and `service` the gateway.
    init(caller principal: Principal?) {
        self.init(
            user: principal?.subject, tenant: principal.flatMap { $0.tenantID.isEmpty ? nil : $0.tenantID },
            roles: principal?.roles ?? [], service: "gateway")
    }
}

/// The flags the gateway reads, and their defaults without a flag file.
enum GatewayFlags {
    /// `GET /v1/notifications/unread-count`, rolled out per tenant (off by default: the flag file turns it on, for
    /// example to a fraction of tenants with `fractional` on `tenant_id`).
    static let unreadCountRoute = "unread-count-route"
}

/// `GET /v1/feature-flags`: every flag of the flag file, evaluated for the caller (any signed-in user), with its
/// value, variant and reason as OpenFeature names them.
struct FeatureFlagRoutes {
    let flags: FeatureFlags

    func register(on v1: RouterGroup<GatewayContext>) {
        v1.get("feature-flags") { _, context in
            let resolutions = flags.all(context: EvaluationContext(caller: context.principal))
            return jsonResponse(["items": .array(resolutions.map(Self.json))])
        }
    }

    static func json(_ resolution: FlagResolution<JSONValue>) -> JSONValue {
        var object: [String: JSONValue] = [
            "key": .string(resolution.key), "value": resolution.value,
            "variant": resolution.variant.map(JSONValue.string) ?? .null,
            "reason": .string(resolution.reason.rawValue), "metadata": .object(resolution.metadata),
        ]
        if let code = resolution.errorCode { object["error_code"] = .string(code.rawValue) }
        return .object(object)
    }
}
