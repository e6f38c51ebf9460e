#if Kafka
    import CRdKafka
    import Foundation
    import Synchronization

    /// One librdkafka client handle (`rd_kafka_t`). librdkafka's API is thread-safe; the handle is destroyed once.
    final class RdKafkaClient: @unchecked Sendable {
        let handle: OpaquePointer

        enum Kind {
            case producer
            case consumer
        }

        /// Builds the client from `properties` (applied in order; later ones win). `configure` may install callbacks
        /// on the configuration before the client takes it.
        init(
            kind: Kind, properties: [(String, String)], configure: (OpaquePointer) -> Void = { _ in }
        ) throws(KafkaError) {
            guard let configuration = rd_kafka_conf_new() else {
                throw KafkaError(reason: "could not allocate a configuration")
            }
            var errorText = [CChar](repeating: 0, count: 512)
            for (name, value) in properties {
                let result = rd_kafka_conf_set(configuration, name, value, &errorText, errorText.count)
                guard result == RD_KAFKA_CONF_OK else {
                    rd_kafka_conf_destroy(configuration)
                    // librdkafka's message quotes the value, which may be a secret: name the property only.
                    throw KafkaError(reason: "invalid configuration property \(name)")
                }
            }
            configure(configuration)
            let type = kind == .producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER
            guard let handle = rd_kafka_new(type, configuration, &errorText, errorText.count) else {
                rd_kafka_conf_destroy(configuration)
                throw KafkaError(reason: "could not create the client: \(Self.text(errorText))")
            }
            self.handle = handle
        }

        static func text(_ buffer: [CChar]) -> String {
            buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        }

        static func error(_ code: rd_kafka_resp_err_t) -> KafkaError {
            KafkaError(code: code.rawValue, reason: String(cString: rd_kafka_err2str(code)))
        }

        deinit {
            rd_kafka_destroy(handle)
        }
    }

    /// A thread of our own for librdkafka's blocking calls (poll, flush, close, admin requests), so none of them
    /// ever runs on Swift's cooperative pool. Work is queued and run in order.
    final class BlockingWorker: Sendable {
        private let queue: Mutex<[@Sendable () -> Void]> = Mutex([])
        private let wake = DispatchSemaphore(value: 0)
        private let idle: (@Sendable () -> Void)?
        private let stopped = Atomic<Bool>(false)

        /// `idle`, when given, runs whenever the queue is empty and must block briefly itself (a poll with a
        /// timeout); queued work waits for it to return.
        init(name: String, idle: (@Sendable () -> Void)? = nil) {
            self.idle = idle
            let thread = Thread { [self] in self.loop() }
            thread.name = name
            thread.start()
        }

        private func loop() {
            while true {
                let work = queue.withLock { queue -> [@Sendable () -> Void] in
                    defer { queue.removeAll() }
                    return queue
                }
                for item in work { item() }
                if stopped.load(ordering: .acquiring) { return }
                guard work.isEmpty else { continue }
                if let idle {
                    idle()
                    _ = wake.wait(timeout: .now())
                } else {
                    _ = wake.wait(timeout: .now() + .seconds(1))
                }
            }
        }

        /// Runs `body` on the worker thread and returns its result.
        func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
            await withCheckedContinuation { continuation in
                submit { continuation.resume(returning: body()) }
            }
        }

        func submit(_ body: @escaping @Sendable () -> Void) {
            queue.withLock { $0.append(body) }
            wake.signal()
        }

        /// Runs `body` last, then ends the thread.
        func stop(after body: @escaping @Sendable () -> Void) async {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                submit {
                    body()
                    self.stopped.store(true, ordering: .releasing)
                    continuation.resume()
                }
            }
        }
    }
#endif
