/// A topic the platform needs, created at start when missing.
public struct KafkaTopic: Sendable, Hashable {
    public var name: String
    public var partitions: Int
    public var replicationFactor: Int
    /// Topic configuration set at creation (`max.message.bytes`, `retention.ms`, …).
    public var configuration: [String: String]

    public init(name: String, partitions: Int, replicationFactor: Int = 1, configuration: [String: String] = [:]) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.configuration = configuration
    }
}
