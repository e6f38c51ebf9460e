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
