/// What a process runs: every service (the embedded mode, `biz-retail serve`) or one (the distributed mode,
/// `biz-retail serve <service>`).
public enum NodeRole: Sendable, Hashable {
    case embedded
    case service(String)
}

extension NodeRole {
    public var name: String {
        switch self {
        case .embedded: "services"
        case .service(let name): name
        }
    }
}
