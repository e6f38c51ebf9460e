/// A topic the platform needs, created at start when missing.
public struct KafkaTopic: Sendable, Hashable {
    public var name: String
    public var partitions: Int
    public var replicationFactor: Int

    public init(name: String, partitions: Int, replicationFactor: Int = 1) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
    }
}
