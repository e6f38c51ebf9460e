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
