import AuditService
import BizServiceKit
import ClientContractorService
import CostCenterService
import IdentityService
import TeamService

/// Every service of the platform, in the order a process assembles them (the Identity Provider first: the others
/// verify tokens with its keys). Adding a service is its module, its line here and its gateway routes.
public enum ServiceRegistry {
    public static let modules: [any ServiceModule.Type] = [
        IdentityModule.self,
        ContractorModule.self,
        CostCenterModule.self,
        TeamModule.self,
        AuditModule.self,
    ]

    /// The module named `name` (`team`), if it exists.
    public static func module(named name: String) -> (any ServiceModule.Type)? {
        modules.first { $0.name == name }
    }

    /// What `biz-retail serve <name>` accepts: every module, and the gateway (last: it calls the others).
    public static var servable: [String] { modules.map { $0.name } + ["gateway"] }
}
