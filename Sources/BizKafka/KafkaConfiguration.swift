/// What every Kafka client of the platform is configured from: the brokers and any extra librdkafka properties
/// (`BIZ_KAFKA_PROPERTY_<NAME>`, read by the configuration: `security.protocol`, `sasl.*`, …). The defaults are the
/// delivery guarantees the platform needs; callers may not weaken them.
public struct KafkaConfiguration: Sendable, Hashable {
    /// `host:port,host:port`.
    public var brokers: String
    /// Extra librdkafka properties, applied before the platform's own.
    public var properties: [String: String]
    /// The client id brokers log (`biz-retail-<service>`).
    public var clientID: String

    public init(brokers: String, clientID: String = "biz-retail", properties: [String: String] = [:]) {
        self.brokers = brokers
        self.clientID = clientID
        self.properties = properties
    }
}
