#if Kafka
    import CRdKafka
    import Logging
    import Synchronization

    /// A consumer in a consumer group, at least once: offsets advance only when `markProcessed` is called (after
    /// the caller stored what it consumed), and librdkafka commits those marks periodically, on rebalance and at
    /// `close`. Polling runs on the consumer's own thread.
    public final class KafkaConsumer: Sendable {
        private let client: RdKafkaClient
        private let queue: QueueHandle
        private let worker: BlockingWorker
        private let logger: Logger

        /// `instanceID`, when given, makes this a static member of the group (`group.instance.id`): restarted with
        /// the same id, it takes its partitions back at once instead of waiting for the group to expire the old
        /// member and rebalance. It must be stable for a replica and unique among replicas.
        public init(
            configuration: KafkaConfiguration, groupID: String, instanceID: String? = nil, topics: [String],
            logger: Logger
        ) throws(KafkaError) {
            var properties = configuration.properties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
            properties += [
                ("bootstrap.servers", configuration.brokers),
                ("client.id", configuration.clientID),
                ("group.id", groupID),
                ("auto.offset.reset", "earliest"),
                ("enable.auto.commit", "true"),
                ("enable.auto.offset.store", "false"),
                ("auto.commit.interval.ms", "1000"),
                ("enable.partition.eof", "false"),
                // A member that died (SIGKILL) holds its partitions until the group gives up on it: keep that
                // short, so a restarted or surviving replica takes over within seconds.
                ("session.timeout.ms", "10000"),
                ("heartbeat.interval.ms", "2000"),
                // A batch that cannot be applied (its database is down) is retried without polling: a member that
                // goes longer than this without a poll is put out of the group, and a static member that then
                // rejoins is fenced for good by librdkafka (a fatal error). Five minutes (Kafka's default) rides out
                // an outage of the database; past it the process stops, to be started again (`fatalError`).
                ("max.poll.interval.ms", "300000"),
            ]
            if let instanceID { properties.append(("group.instance.id", instanceID)) }
            let client = try RdKafkaClient(kind: .consumer, properties: properties)
            rd_kafka_poll_set_consumer(client.handle)
            let list = rd_kafka_topic_partition_list_new(Int32(topics.count))
            defer { rd_kafka_topic_partition_list_destroy(list) }
            for topic in topics { rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA) }
            let result = rd_kafka_subscribe(client.handle, list)
            guard result == RD_KAFKA_RESP_ERR_NO_ERROR else { throw RdKafkaClient.error(result) }
            self.client = client
            self.queue = QueueHandle(rd_kafka_queue_get_consumer(client.handle))
            self.worker = BlockingWorker(name: "kafka-consumer")
            self.logger = logger
        }

        /// Up to `maximum` messages, waiting at most `timeout` for the first. Empty when none arrived.
        public func poll(maximum: Int, timeout: Duration = .seconds(1)) async -> [KafkaMessage] {
            let milliseconds = Int32(
                timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
            let queue = self.queue
            let logger = self.logger
            return await worker.run {
                var buffer = [UnsafeMutablePointer<rd_kafka_message_t>?](repeating: nil, count: maximum)
                let count = rd_kafka_consume_batch_queue(queue.handle, milliseconds, &buffer, maximum)
                guard count > 0 else { return [] }
                var messages: [KafkaMessage] = []
                messages.reserveCapacity(count)
                for pointer in buffer.prefix(count) {
                    guard let pointer else { continue }
                    defer { rd_kafka_message_destroy(pointer) }
                    if pointer.pointee.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                        logger.warning(
                            "consumer error", metadata: ["error": "\(RdKafkaClient.error(pointer.pointee.err))"])
                        continue
                    }
                    messages.append(KafkaMessage(pointer))
                }
                return messages
            }
        }

        /// The messages as an `AsyncSequence` of batches of up to `maximum`, each as soon as one message is there;
        /// it ends when the task is cancelled. Mark what you processed with `markProcessed`.
        public func batches(maximum: Int = 1000) -> Batches {
            Batches(consumer: self, maximum: maximum)
        }

        public struct Batches: AsyncSequence, Sendable {
            public typealias Element = [KafkaMessage]
            let consumer: KafkaConsumer
            let maximum: Int

            public struct AsyncIterator: AsyncIteratorProtocol {
                let consumer: KafkaConsumer
                let maximum: Int

                public mutating func next() async -> [KafkaMessage]? {
                    while !Task.isCancelled {
                        let batch = await consumer.poll(maximum: maximum, timeout: .milliseconds(500))
                        if !batch.isEmpty { return batch }
                    }
                    return nil
                }
            }

            public func makeAsyncIterator() -> AsyncIterator {
                AsyncIterator(consumer: consumer, maximum: maximum)
            }
        }

        /// librdkafka's fatal error, once the consumer has one (a static member fenced off): it serves nothing more.
        public var fatalError: KafkaError? {
            var buffer = [CChar](repeating: 0, count: 512)
            let code = rd_kafka_fatal_error(client.handle, &buffer, buffer.count)
            guard code != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
            let reason = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
            return KafkaError(code: code.rawValue, reason: String(decoding: reason, as: UTF8.self))
        }

        /// Puts the consumer in librdkafka's fatal state, as a fenced static member would be: for tests of what
        /// follows.
        public func simulateFatalError(reason: String) {
            _ = rd_kafka_test_fatal_error(client.handle, RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID, reason)
        }

        /// Marks `messages` processed: their offsets (+1) will be committed. Never blocks.
        public func markProcessed(_ messages: [KafkaMessage]) {
            var next: [String: [Int32: Int64]] = [:]
            for message in messages {
                next[message.topic, default: [:]][message.partition] = max(
                    next[message.topic]?[message.partition] ?? 0, message.offset + 1)
            }
            let list = rd_kafka_topic_partition_list_new(Int32(messages.count))
            defer { rd_kafka_topic_partition_list_destroy(list) }
            for (topic, partitions) in next {
                for (partition, offset) in partitions {
                    rd_kafka_topic_partition_list_add(list, topic, partition)?.pointee.offset = offset
                }
            }
            let result = rd_kafka_offsets_store(client.handle, list)
            if result != RD_KAFKA_RESP_ERR_NO_ERROR {
                // A partition revoked meanwhile: its new owner re-reads from the last commit; consumers are
                // idempotent, so this only means a redelivery.
                logger.debug("offsets not stored", metadata: ["error": "\(RdKafkaClient.error(result))"])
            }
        }

        /// Per partition of `messages` (`topic/partition`): the messages after the last of them, from the high
        /// watermark librdkafka last fetched (no request to the broker).
        public func lag(after messages: [KafkaMessage]) -> [(partition: String, messages: Int64)] {
            var last: [String: (topic: String, partition: Int32, offset: Int64)] = [:]
            for message in messages {
                let key = "\(message.topic)/\(message.partition)"
                if (last[key]?.offset ?? -1) < message.offset {
                    last[key] = (message.topic, message.partition, message.offset)
                }
            }
            return last.sorted { $0.key < $1.key }.compactMap { key, position in
                var low: Int64 = 0
                var high: Int64 = 0
                let result = rd_kafka_get_watermark_offsets(
                    client.handle, position.topic, position.partition, &low, &high)
                guard result == RD_KAFKA_RESP_ERR_NO_ERROR, high >= 0 else { return nil }
                return (key, max(0, high - position.offset - 1))
            }
        }

        /// Commits the marked offsets, leaves the group and stops the consumer's thread.
        public func close() async {
            let client = self.client
            let queue = self.queue
            let logger = self.logger
            await worker.stop {
                queue.destroy()
                let result = rd_kafka_consumer_close(client.handle)
                if result != RD_KAFKA_RESP_ERR_NO_ERROR {
                    logger.warning("consumer close", metadata: ["error": "\(RdKafkaClient.error(result))"])
                }
            }
        }
    }

    final class QueueHandle: @unchecked Sendable {
        private(set) var handle: OpaquePointer?
        init(_ handle: OpaquePointer?) { self.handle = handle }
        /// Called once, on the consumer's thread.
        func destroy() {
            if let handle { rd_kafka_queue_destroy(handle) }
            handle = nil
        }
    }

    extension KafkaMessage {
        init(_ message: UnsafeMutablePointer<rd_kafka_message_t>) {
            func bytes(_ pointer: UnsafeMutableRawPointer?, _ count: Int) -> [UInt8] {
                guard let pointer, count > 0 else { return [] }
                return Array(UnsafeRawBufferPointer(start: pointer, count: count))
            }
            var headers: [String: [UInt8]] = [:]
            var list: OpaquePointer?
            if rd_kafka_message_headers(message, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list {
                var index = 0
                var name: UnsafePointer<CChar>?
                var value: UnsafeRawPointer?
                var size = 0
                while rd_kafka_header_get_all(list, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                    if let name {
                        headers[String(cString: name)] =
                            value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []
                    }
                    index += 1
                }
            }
            self.init(
                topic: String(cString: rd_kafka_topic_name(message.pointee.rkt)),
                partition: message.pointee.partition,
                offset: message.pointee.offset,
                key: bytes(message.pointee.key, message.pointee.key_len),
                value: bytes(message.pointee.payload, message.pointee.len),
                headers: headers
            )
        }
    }
#endif
