#if Kafka
    import BizEvents
    import BizMessaging
    import Logging
    import ServiceLifecycle

    /// The platform's topics.
    public enum PlatformTopics {
        public static let audit = "audit"
        public static let auditDeadLetters = "audit.dlq"
    }

    /// Publishes outbox messages to a topic: key = the entity's `public_id`, headers `event_id`, `event_type` and
    /// `traceparent`. Returns only when the broker acknowledged every record (`acks=all`).
    public struct KafkaEventPublisher: EventPublisher {
        public var producer: KafkaProducer
        public var topic: String

        public init(producer: KafkaProducer, topic: String = PlatformTopics.audit) {
            self.producer = producer
            self.topic = topic
        }

        public func publish(_ messages: [OutgoingMessage]) async throws -> [RefusedMessage] {
            let records = messages.map { message in
                var headers: [(name: String, value: [UInt8])] = [
                    ("event_id", Array(message.eventID.utf8)), ("event_type", Array(message.eventType.utf8)),
                ]
                if let traceParent = message.traceParent {
                    headers.append(("traceparent", Array(traceParent.utf8)))
                }
                return KafkaRecord(topic: topic, key: Array(message.key.utf8), value: message.body, headers: headers)
            }
            var refused: [RefusedMessage] = []
            var transient: [KafkaError] = []
            for (index, result) in await producer.send(records).enumerated() {
                guard case .failure(let error) = result else { continue }
                if error.refusesRecord {
                    refused.append(RefusedMessage(index: index, reason: error.description))
                } else {
                    transient.append(error)
                }
            }
            if let first = transient.first {
                throw KafkaError(
                    code: first.code, reason: "\(transient.count) of \(records.count) records: \(first.reason)")
            }
            return refused
        }
    }

    /// Dead letters as records of `audit.dlq`: the refused bytes unchanged, the reason in a header.
    public struct KafkaDeadLetterStore: DeadLetterStore {
        public var producer: KafkaProducer
        public var topic: String

        public init(producer: KafkaProducer, topic: String = PlatformTopics.auditDeadLetters) {
            self.producer = producer
            self.topic = topic
        }

        public func store(_ letters: [DeadLetter]) async throws {
            let records = letters.map { letter in
                KafkaRecord(
                    topic: topic, key: Array((letter.sourceReference ?? "").utf8), value: letter.body,
                    headers: [
                        ("reason", Array(letter.reason.utf8)), ("source", Array(letter.source.utf8)),
                        ("source_reference", Array((letter.sourceReference ?? "").utf8)),
                        ("received_at", Array(letter.receivedAt.utf8)),
                    ])
            }
            for result in await producer.send(records) { try result.get() }
        }

        public func list(limit: Int, before: Int64?) async throws -> [DeadLetter] {
            throw DeadLetterListingUnsupported(
                "dead letters are records of the Kafka topic \(topic), with the reason in their `reason` header; "
                    + "read them with a Kafka consumer (kcat -C -t \(topic) -f '%h %s\\n')")
        }
    }
#endif
