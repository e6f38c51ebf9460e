#if Kafka
    import BizMessaging
    import Logging

    /// A Kafka consumer group as a `MessageSource`: polls batches, and marks their records processed (their offsets
    /// committed by librdkafka) only once they were applied.
    public struct KafkaSource: MessageSource {
        public var kafka: KafkaConsumer

        public init(kafka: KafkaConsumer) { self.kafka = kafka }

        /// The group's committed offsets decide where reading starts.
        public func start(consumer: String) async throws -> String { "the group's committed offsets" }

        public func next(maximum: Int) async throws -> (messages: [DeliveredMessage], receipt: [KafkaMessage])? {
            let messages = await kafka.poll(maximum: maximum, timeout: .milliseconds(500))
            guard !messages.isEmpty else {
                if let fatal = kafka.fatalError { throw FatalConsumerError(underlying: fatal) }
                return nil
            }
            let delivered = messages.map { message in
                DeliveredMessage(
                    offset: message.offset, key: String(decoding: message.key, as: UTF8.self),
                    eventID: message.header("event_id") ?? "", eventType: message.header("event_type") ?? "",
                    body: message.value, reference: "\(message.topic)/\(message.partition)@\(message.offset)",
                    traceParent: message.header("traceparent"))
            }
            return (delivered, messages)
        }

        public func commit(_ messages: [KafkaMessage]) async throws { kafka.markProcessed(messages) }

        public func lag(after messages: [KafkaMessage]) async -> [(partition: String, messages: Int64)] {
            kafka.lag(after: messages)
        }

        /// A poll returns within half a second anyway.
        public func wake() {}

        public func close() async { await kafka.close() }
    }

    /// The consumer cannot go on (librdkafka's fatal error): no retry helps, the process must start again.
    public struct FatalConsumerError: Backoff.Unrecoverable, CustomStringConvertible {
        public var underlying: KafkaError
        public var description: String { "the Kafka consumer failed for good: \(underlying)" }
    }

    /// A Kafka consumer group's subscription.
    public typealias KafkaSubscription<Consumer: EventConsumer> = Subscription<KafkaSource, Consumer>

    extension Subscription where Source == KafkaSource {
        public init(kafka: KafkaConsumer, consumer: Consumer, batchSize: Int = 1000, logger: Logger) {
            self.init(source: KafkaSource(kafka: kafka), consumer: consumer, batchSize: batchSize, logger: logger)
        }
    }
#endif
