/// What every Kafka client of the platform is configured from: the brokers and any extra librdkafka properties
/// (`BIZ_KAFKA_PROPERTY_<NAME>`: `security.protocol`, `sasl.*`, …). The defaults are the delivery guarantees the
/// platform needs; callers may not weaken them.
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

    /// Reads `BIZ_KAFKA_PROPERTY_SECURITY_PROTOCOL=SSL` as `security.protocol=SSL`.
    public static func extraProperties(from environment: [String: String]) -> [String: String] {
        var properties: [String: String] = [:]
        for (name, value) in environment where name.hasPrefix("BIZ_KAFKA_PROPERTY_") {
            let key = String(name.dropFirst("BIZ_KAFKA_PROPERTY_".count).lowercased().map { $0 == "_" ? "." : $0 })
            properties[key] = value
        }
        return properties
    }
}

/// A failure reported by librdkafka or the broker. `reason` is librdkafka's description of the error code, never
/// message contents.
public struct KafkaError: Error, Sendable, Hashable, CustomStringConvertible {
    /// librdkafka's `rd_kafka_resp_err_t`, when there is one.
    public var code: Int32?
    public var reason: String

    public init(code: Int32? = nil, reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { "kafka: \(reason)" }
}

/// One record to produce.
public struct KafkaRecord: Sendable, Hashable {
    public var topic: String
    public var key: [UInt8]
    public var value: [UInt8]
    public var headers: [(name: String, value: [UInt8])]

    public init(topic: String, key: [UInt8], value: [UInt8], headers: [(name: String, value: [UInt8])] = []) {
        self.topic = topic
        self.key = key
        self.value = value
        self.headers = headers
    }

    public static func == (lhs: KafkaRecord, rhs: KafkaRecord) -> Bool {
        lhs.topic == rhs.topic && lhs.key == rhs.key && lhs.value == rhs.value
            && lhs.headers.map(\.name) == rhs.headers.map(\.name)
            && lhs.headers.map(\.value) == rhs.headers.map(\.value)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(topic)
        hasher.combine(key)
        hasher.combine(value)
    }
}

/// One consumed record, with its position.
public struct KafkaMessage: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var key: [UInt8]
    public var value: [UInt8]
    public var headers: [String: [UInt8]]

    public init(
        topic: String, partition: Int32, offset: Int64, key: [UInt8], value: [UInt8], headers: [String: [UInt8]]
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
    }

    public func header(_ name: String) -> String? {
        headers[name].map { String(decoding: $0, as: UTF8.self) }
    }
}

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

/// Whether this build links librdkafka (the `Kafka` package trait, on by default).
public enum KafkaSupport {
    #if Kafka
        public static let isAvailable = true
    #else
        public static let isAvailable = false
    #endif
}
