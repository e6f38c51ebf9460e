import AuditService
import BizAuth
import BizServiceKit
import ClientContractorService
import CostCenterService
import IdentityService
import NotificationsService
import TeamService

/// Every service of the platform, in the order a process assembles them (the Identity Provider first: the others
/// verify tokens with its keys). Adding a service is its module, its line here and its gateway routes.
public enum ServiceRegistry {
    public static let modules: [any ServiceModule.Type] = [
        IdentityModule.self,
        ContractorModule.self,
        CostCenterModule.self,
        TeamModule.self,
        NotificationsModule.self,
        AuditModule.self,
    ]

    /// The module named `name` (`team`), if it exists.
    public static func module(named name: String) -> (any ServiceModule.Type)? {
        modules.first { $0.name == name }
    }

    /// What `biz-retail serve <name>` accepts: every module, and the gateway (last: it calls the others).
    public static var servable: [String] { modules.map { $0.name } + ["gateway"] }

    /// A service's setting in the environment: `BIZ_COST_CENTER_ADDRESS` for (`cost-center`, `ADDRESS`).
    public static func variable(_ service: String, _ suffix: String) -> String {
        "BIZ_" + service.uppercased().replacingOccurrences(of: "-", with: "_") + "_" + suffix
    }

    /// Every service's account: each module's calls its dependencies and the Client Contractor service (whether an
    /// external token's tenant exists), the gateway's calls every module. Its secret is the configured one, else
    /// the one derived from `masterKey`.
    public static func accounts(_ configuration: PlatformConfiguration, masterKey: MasterKey) -> [ServiceAccount] {
        func secret(_ service: String) -> String {
            configuration.serviceClientSecrets[service]?.value
                ?? ServiceAccount.derivedSecret(of: service, masterKey: masterKey)
        }
        let modules = modules.map { module in
            ServiceAccount(
                service: module.name, calls: Array(Set(module.dependencies + [ContractorModule.name])).sorted(),
                secret: secret(module.name))
        }
        return modules + [
            ServiceAccount(service: "gateway", calls: self.modules.map { $0.name }, secret: secret("gateway"))
        ]
    }
}
