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

    /// The broker or librdkafka refused the record itself (too large, invalid): sending it again cannot succeed.
    /// Every other failure (broker down, timeouts, leadership changes) is worth a retry.
    public var refusesRecord: Bool {
        guard let code else { return false }
        return Self.recordRefusals.contains(code)
    }

    /// `MSG_SIZE_TOO_LARGE`, `INVALID_MSG_SIZE`, `RECORD_LIST_TOO_LARGE`, `INVALID_RECORD`.
    static let recordRefusals: Set<Int32> = [10, 4, 18, 87]
}
