/// A configuration value that must never be printed or logged: `description` hides it.
public struct Secret: Sendable, Hashable, CustomStringConvertible {
    public var value: String
    public init(_ value: String) { self.value = value }
    public var description: String { "<redacted>" }
}

/// Where a secret's value came from, for `biz-retail config` (never the value itself).
public enum SecretSource: Sendable, Hashable, CustomStringConvertible {
    /// The variable itself (`BIZ_DATABASE_URL=…`).
    case environment(variable: String)
    /// The file `BIZ_DATABASE_URL_FILE` names (a container or Kubernetes secret mount).
    case file(variable: String, path: String)
    /// AWS Secrets Manager, through a `secretsmanager://NAME` (or `…#key`: one key of a JSON secret) reference in the
    /// variable or its file.
    case secretsManager(name: String, key: String?, version: String)

    public var description: String {
        switch self {
        case .environment(let variable): "from the environment (\(variable))"
        case .file(let variable, let path): "from the file \(path) (\(variable)_FILE)"
        case .secretsManager(let name, let key, let version):
            "from AWS Secrets Manager: \(name)\(key.map { ", key \($0)" } ?? "")\(version.isEmpty ? "" : ", version \(version)")"
        }
    }
}
