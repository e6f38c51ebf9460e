#if Kafka
    import CRdKafka
    import Logging

    /// Topic administration through the Admin API.
    public enum KafkaAdmin {
        /// Creates the topics that do not exist yet; existing ones are left as they are.
        public static func ensureTopics(
            _ topics: [KafkaTopic], configuration: KafkaConfiguration, timeout: Duration = .seconds(30), logger: Logger
        ) async throws {
            let client = try RdKafkaClient(
                kind: .producer,
                properties: configuration.properties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } + [
                    ("bootstrap.servers", configuration.brokers), ("client.id", configuration.clientID + "-admin"),
                ])
            let worker = BlockingWorker(name: "kafka-admin")
            let milliseconds = Int32(timeout.components.seconds * 1000)
            let outcome: Result<[String], KafkaError> = await worker.run {
                createTopics(topics, on: client.handle, milliseconds: milliseconds)
            }
            await worker.stop {}
            let created = try outcome.get()
            for name in created { logger.info("kafka topic created", metadata: ["topic": "\(name)"]) }
        }

        /// Blocking: runs on a worker thread. Returns the names of the topics it created.
        private static func createTopics(
            _ topics: [KafkaTopic], on handle: OpaquePointer, milliseconds: Int32
        ) -> Result<[String], KafkaError> {
            var errorText = [CChar](repeating: 0, count: 512)
            var newTopics: [OpaquePointer?] = []
            defer { for topic in newTopics { rd_kafka_NewTopic_destroy(topic) } }
            for topic in topics {
                guard
                    let newTopic = rd_kafka_NewTopic_new(
                        topic.name, Int32(topic.partitions), Int32(topic.replicationFactor), &errorText,
                        errorText.count)
                else {
                    return .failure(KafkaError(reason: "topic \(topic.name): \(RdKafkaClient.text(errorText))"))
                }
                newTopics.append(newTopic)
                for (name, value) in topic.configuration.sorted(by: { $0.key < $1.key }) {
                    let result = rd_kafka_NewTopic_set_config(newTopic, name, value)
                    guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
                        return .failure(RdKafkaClient.error(result))
                    }
                }
            }
            let queue = rd_kafka_queue_new(handle)
            defer { rd_kafka_queue_destroy(queue) }
            let options = rd_kafka_AdminOptions_new(handle, RD_KAFKA_ADMIN_OP_CREATETOPICS)
            defer { rd_kafka_AdminOptions_destroy(options) }
            _ = rd_kafka_AdminOptions_set_operation_timeout(options, milliseconds, &errorText, errorText.count)
            _ = rd_kafka_AdminOptions_set_request_timeout(options, milliseconds, &errorText, errorText.count)
            newTopics.withUnsafeMutableBufferPointer { buffer in
                rd_kafka_CreateTopics(handle, buffer.baseAddress, buffer.count, options, queue)
            }
            guard let event = rd_kafka_queue_poll(queue, milliseconds + 1000) else {
                return .failure(KafkaError(reason: "no answer from the brokers to CreateTopics"))
            }
            defer { rd_kafka_event_destroy(event) }
            let eventError = rd_kafka_event_error(event)
            guard eventError == RD_KAFKA_RESP_ERR_NO_ERROR, let result = rd_kafka_event_CreateTopics_result(event)
            else { return .failure(RdKafkaClient.error(eventError)) }
            var count = 0
            guard let results = rd_kafka_CreateTopics_result_topics(result, &count) else { return .success([]) }
            var created: [String] = []
            for index in 0..<count {
                let topicResult = results[index]
                let name = String(cString: rd_kafka_topic_result_name(topicResult))
                let error = rd_kafka_topic_result_error(topicResult)
                switch error {
                case RD_KAFKA_RESP_ERR_NO_ERROR: created.append(name)
                case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS: continue
                default:
                    return .failure(
                        KafkaError(code: error.rawValue, reason: "topic \(name): \(RdKafkaClient.error(error).reason)"))
                }
            }
            return .success(created)
        }
    }
#endif
