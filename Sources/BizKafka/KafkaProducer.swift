#if Kafka
    import CRdKafka
    import Logging
    import ServiceLifecycle
    import Synchronization

    /// An idempotent Kafka producer (`enable.idempotence`, `acks=all`): `send` returns once the broker acknowledged
    /// or refused every record, with one result per record. Delivery reports are served on the producer's own
    /// thread; callers only await.
    public final class KafkaProducer: Sendable {
        private let client: RdKafkaClient
        private let worker: BlockingWorker
        private let logger: Logger

        public init(configuration: KafkaConfiguration, logger: Logger) throws(KafkaError) {
            var properties = configuration.properties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
            properties += [
                ("bootstrap.servers", configuration.brokers),
                ("client.id", configuration.clientID),
                ("enable.idempotence", "true"),
                ("acks", "all"),
                // Batching: records produced together travel together.
                ("linger.ms", "5"),
                ("batch.num.messages", "10000"),
                // A broker outage shorter than this delays delivery without failing it.
                ("message.timeout.ms", "120000"),
            ]
            let client = try RdKafkaClient(kind: .producer, properties: properties) { configuration in
                rd_kafka_conf_set_dr_msg_cb(configuration, deliveryReport)
            }
            self.client = client
            self.logger = logger
            self.worker = BlockingWorker(name: "kafka-producer") { _ = rd_kafka_poll(client.handle, 50) }
        }

        /// Produces `records` and waits for their delivery reports. Records sharing a key keep their order.
        public func send(_ records: [KafkaRecord]) async -> [Result<Void, KafkaError>] {
            guard !records.isEmpty else { return [] }
            let batch = DeliveryBatch(count: records.count)
            for (index, record) in records.enumerated() {
                while true {
                    let ticket = Unmanaged.passRetained(DeliveryTicket(batch: batch, index: index))
                    let result = produce(record, opaque: ticket.toOpaque())
                    if result == RD_KAFKA_RESP_ERR_NO_ERROR { break }
                    ticket.release()
                    if result == RD_KAFKA_RESP_ERR__QUEUE_FULL {
                        // librdkafka's local queue is full: wait for deliveries to drain it.
                        try? await Task.sleep(for: .milliseconds(5))
                        continue
                    }
                    batch.complete(index, .failure(RdKafkaClient.error(result)))
                    break
                }
            }
            return await batch.results()
        }

        private func produce(_ record: KafkaRecord, opaque: UnsafeMutableRawPointer) -> rd_kafka_resp_err_t {
            let headers = rd_kafka_headers_new(record.headers.count)
            for header in record.headers {
                header.value.withUnsafeBytes { bytes in
                    _ = rd_kafka_header_add(headers, header.name, -1, bytes.baseAddress, bytes.count)
                }
            }
            let result = record.key.withUnsafeBytes { key in
                record.value.withUnsafeBytes { value in
                    biz_rd_kafka_produce(
                        client.handle, record.topic, key.baseAddress, key.count, value.baseAddress, value.count,
                        headers, opaque)
                }
            }
            if result != RD_KAFKA_RESP_ERR_NO_ERROR { rd_kafka_headers_destroy(headers) }
            return result
        }

        /// Waits (up to `timeout`) for records in flight, then stops the producer's thread.
        public func close(timeout: Duration = .seconds(10)) async {
            let milliseconds = Int32(timeout.components.seconds * 1000)
            let client = self.client
            let logger = self.logger
            await worker.stop {
                let result = rd_kafka_flush(client.handle, milliseconds)
                if result != RD_KAFKA_RESP_ERR_NO_ERROR {
                    logger.warning(
                        "records still in flight at shutdown",
                        metadata: ["count": "\(rd_kafka_outq_len(client.handle))"])
                }
            }
        }
    }

    /// As a `Service`, the producer runs until graceful shutdown, then flushes what is in flight and closes; place it
    /// before its users in a `ServiceGroup` so it stops after them.
    extension KafkaProducer: Service {
        public func run() async throws {
            try? await gracefulShutdown()
            await close()
        }
    }

    /// The results of one `send`, filled in by delivery reports.
    final class DeliveryBatch: Sendable {
        private struct State {
            var results: [Result<Void, KafkaError>?]
            var remaining: Int
            var continuation: CheckedContinuation<[Result<Void, KafkaError>], Never>?
        }
        private let state: Mutex<State>

        init(count: Int) {
            state = Mutex(State(results: Array(repeating: nil, count: count), remaining: count))
        }

        func complete(_ index: Int, _ result: Result<Void, KafkaError>) {
            let finished = state.withLock {
                state -> (CheckedContinuation<[Result<Void, KafkaError>], Never>, [Result<Void, KafkaError>])? in
                state.results[index] = result
                state.remaining -= 1
                guard state.remaining == 0, let continuation = state.continuation else { return nil }
                state.continuation = nil
                return (continuation, state.results.map { $0! })
            }
            if let (continuation, results) = finished { continuation.resume(returning: results) }
        }

        func results() async -> [Result<Void, KafkaError>] {
            await withCheckedContinuation { continuation in
                let done = state.withLock { state -> [Result<Void, KafkaError>]? in
                    if state.remaining == 0 { return state.results.map { $0! } }
                    state.continuation = continuation
                    return nil
                }
                if let done { continuation.resume(returning: done) }
            }
        }
    }

    final class DeliveryTicket {
        let batch: DeliveryBatch
        let index: Int

        init(batch: DeliveryBatch, index: Int) {
            self.batch = batch
            self.index = index
        }
    }

    /// librdkafka's delivery-report callback, called on the producer's thread from `rd_kafka_poll`.
    private let deliveryReport:
        @convention(c) (OpaquePointer?, UnsafePointer<rd_kafka_message_t>?, UnsafeMutableRawPointer?) -> Void = {
            _, message, _ in
            guard let message, let opaque = message.pointee._private else { return }
            let ticket = Unmanaged<DeliveryTicket>.fromOpaque(opaque).takeRetainedValue()
            let error = message.pointee.err
            ticket.batch.complete(
                ticket.index, error == RD_KAFKA_RESP_ERR_NO_ERROR ? .success(()) : .failure(RdKafkaClient.error(error)))
        }
#endif
