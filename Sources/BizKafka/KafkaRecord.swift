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
