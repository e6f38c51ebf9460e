import BizMessaging
import BizServiceKit
import BizStorage
import Logging
import ServiceLifecycle

#if Kafka
    import BizKafka
#endif

/// The process's event log: the durable bus over `bus.sqlite` (embedded mode) or Kafka (distributed mode). Outbox
/// relays publish to it, subscriptions consume it, and refused events go to its dead-letter store.
struct EventLog: Sendable {
    var publisher: any EventPublisher
    var deadLetters: any DeadLetterStore
    /// Rows per relay batch.
    var relayBatchSize: Int
    /// What must run for the log to work (the Kafka producer), started before the relays and stopped after them.
    var services: [any Service]
    /// A consumer's loop over the log.
    var subscribe: @Sendable (any EventConsumer) throws -> any Service

    /// The durable in-process bus.
    static func bus(store: any SQLStore, logger: Logger) -> EventLog {
        let bus = DurableBus(store: store)
        return EventLog(
            publisher: bus, deadLetters: bus, relayBatchSize: 500, services: [],
            subscribe: { consumer in busSubscription(bus, consumer, logger) })
    }

    private static func busSubscription<Consumer: EventConsumer>(
        _ bus: DurableBus, _ consumer: Consumer, _ logger: Logger
    ) -> any Service {
        BusSubscription(bus: bus, consumer: consumer, logger: logger)
    }

    /// Records per relay batch and per consumer batch with Kafka: large batches amortise the database statement and
    /// the wait for acknowledgements (see Benchmarks/README.md).
    static let kafkaBatch = 10_000

    /// Kafka, after making sure the platform's topics exist.
    static func kafka(
        _ configuration: PlatformConfiguration, clientID: String, instanceID: String, logger: Logger
    ) async throws -> EventLog {
        #if Kafka
            guard let brokers = configuration.kafka.brokers else {
                throw RuntimeError("BIZ_KAFKA_BROKERS is required in the distributed mode: events travel through Kafka")
            }
            let settings = configuration.kafka
            let kafka = KafkaConfiguration(
                brokers: brokers, clientID: clientID, properties: settings.properties.mapValues(\.value))
            let audit = settings.topicPrefix + PlatformTopics.audit
            let deadLetters = settings.topicPrefix + PlatformTopics.auditDeadLetters
            try await KafkaAdmin.ensureTopics(
                [
                    KafkaTopic(
                        name: audit, partitions: settings.partitions, replicationFactor: settings.replicationFactor),
                    KafkaTopic(name: deadLetters, partitions: 1, replicationFactor: settings.replicationFactor),
                ], configuration: kafka, logger: logger)
            let producer = try KafkaProducer(configuration: kafka, logger: logger)
            let prefix = settings.topicPrefix
            return EventLog(
                publisher: KafkaEventPublisher(producer: producer, topic: audit),
                deadLetters: KafkaDeadLetterStore(producer: producer, topic: deadLetters),
                relayBatchSize: kafkaBatch, services: [producer],
                subscribe: { consumer in
                    try kafkaSubscription(
                        consumer, kafka: kafka, group: prefix + consumer.name, instanceID: instanceID, topic: audit,
                        logger: logger)
                })
        #else
            throw RuntimeError.noKafka
        #endif
    }

    #if Kafka
        private static func kafkaSubscription<Consumer: EventConsumer>(
            _ consumer: Consumer, kafka: KafkaConfiguration, group: String, instanceID: String, topic: String,
            logger: Logger
        ) throws -> any Service {
            let source = try KafkaConsumer(
                configuration: kafka, groupID: group, instanceID: instanceID, topics: [topic], logger: logger)
            return KafkaSubscription(kafka: source, consumer: consumer, batchSize: kafkaBatch, logger: logger)
        }
    #endif
}

extension RuntimeError {
    static let noKafka = RuntimeError(
        "this build has no Kafka support: build with `swift build --traits Kafka` (needs apt-get install librdkafka-dev)"
    )
}
