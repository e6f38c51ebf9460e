import AsyncHTTPClient
import Foundation
import Logging
import Metrics
import NIOCore
import ServiceLifecycle
import Synchronization

/// Ships ECS log lines to Elasticsearch with `_bulk`, into the data stream `logs-bizretail-<namespace>` (its index
/// template is installed at start). Lines wait in a bounded buffer: logging never blocks and never waits on the
/// network; when the buffer is full a line is dropped and counted (`log_shipping_dropped_total`). A failed batch is
/// retried with backoff (the buffer keeps filling meanwhile); what is left at shutdown is sent once more.
public final class ElasticsearchShipper: Service, Sendable {
    public struct Settings: Sendable {
        /// `http(s)://[user:password@]host:port` of the cluster.
        public var url: String
        /// The data stream's namespace: lines go to `logs-bizretail-<namespace>`.
        public var namespace: String = "default"
        public var bufferCapacity: Int = 200_000
        public var batchSize: Int = 5_000
        public var flushInterval: Duration = .milliseconds(200)

        public init(url: String) { self.url = url }
    }

    public static let templateName = "logs-bizretail"
    public var dataStream: String { "logs-bizretail-\(settings.namespace)" }

    let settings: Settings
    private let endpoint: String
    private let authorization: String?
    private let buffer = Mutex<[[UInt8]]>([])
    private let dropped = Atomic<Int>(0)
    private let shipped = Atomic<Int>(0)
    // Made where they are counted, not with the shipper: the shipper exists before the process's metrics system is
    // bootstrapped, and an instrument made then would count into nothing for good.
    private var droppedCounter: Counter { Counter(label: "log_shipping_dropped_total") }
    private var shippedCounter: Counter { Counter(label: "log_shipping_shipped_total") }
    /// Drops already added to `log_shipping_dropped_total` (a drop is counted on `dropped` at once, and on the
    /// counter by the shipping loop).
    private let reportedDrops = Atomic<Int>(0)
    /// Set once the process's `LogOutput` exists: where the shipper reports its own trouble (standard error only).
    private let diagnostics = Mutex<LogOutput?>(nil)

    public init(settings: Settings) throws {
        guard let url = URL(string: settings.url), let scheme = url.scheme, scheme == "http" || scheme == "https",
            let host = url.host, !host.isEmpty
        else {
            throw TelemetryError("BIZ_ELASTICSEARCH_URL must be an http:// or https:// URL of the cluster")
        }
        self.settings = settings
        let port = url.port.map { ":\($0)" } ?? ""
        let path = url.path.hasSuffix("/") ? String(url.path.dropLast()) : url.path
        self.endpoint = "\(scheme)://\(host)\(port)\(path)"
        if let user = url.user {
            let password = url.password ?? ""
            let decoded = "\(user.removingPercentEncoding ?? user):\(password.removingPercentEncoding ?? password)"
            self.authorization = "Basic " + Data(decoded.utf8).base64EncodedString()
        } else {
            self.authorization = nil
        }
    }

    /// Lines dropped because the buffer was full or the cluster refused them.
    public var droppedCount: Int { dropped.load(ordering: .relaxed) }
    /// Lines the cluster accepted.
    public var shippedCount: Int { shipped.load(ordering: .relaxed) }

    func attach(_ output: LogOutput) { diagnostics.withLock { $0 = output } }

    /// Queues one ECS line; never blocks on the network.
    public func enqueue(_ line: [UInt8]) {
        let accepted = buffer.withLock { lines in
            guard lines.count < settings.bufferCapacity else { return false }
            lines.append(line)
            return true
        }
        if !accepted { dropped.add(1, ordering: .relaxed) }
    }

    public func run() async throws {
        // The counters exist (at 0) from the start, for alerts on them; the metrics system is bootstrapped by now.
        _ = (droppedCounter, shippedCounter)
        var configuration = HTTPClient.Configuration()
        // Its own requests are not part of any trace (and would otherwise trace every batch).
        configuration.tracing.tracer = nil
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(30))
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            try await ship(with: client)
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    private func ship(with client: HTTPClient) async throws {
        var backoff = Backoff()
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                try await installTemplate(client)
                report(recovered: backoff.failures > 0)
                break
            } catch {
                report(error, failures: backoff.failures, what: "install the index template")
                await backoff.wait()
            }
        }
        backoff = Backoff()
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            reportDrops()
            let lines = buffer.withLock { lines in
                defer { lines = [] }
                return lines
            }
            if lines.isEmpty {
                try? await Task.sleep(for: settings.flushInterval)
                continue
            }
            var start = 0
            while start < lines.count {
                let batch = lines[start..<min(start + settings.batchSize, lines.count)]
                do {
                    try await send(batch, client)
                    report(recovered: backoff.failures > 0)
                    backoff = Backoff()
                    start += batch.count
                } catch {
                    report(error, failures: backoff.failures, what: "ship \(batch.count) log lines")
                    if Task.isShuttingDownGracefully || Task.isCancelled { break }
                    await backoff.wait()
                    reportDrops()
                }
            }
            if start < lines.count { discard(lines.count - start) }
        }
        // Shutting down: what is still buffered gets one attempt.
        let rest = buffer.withLock { lines in
            defer { lines = [] }
            return lines
        }
        if !rest.isEmpty {
            do { try await send(rest[...], client) } catch { discard(rest.count) }
        }
    }

    private func discard(_ count: Int) {
        dropped.add(count, ordering: .relaxed)
        reportDrops()
    }

    /// Adds the drops since the last report to `log_shipping_dropped_total`.
    private func reportDrops() {
        let total = dropped.load(ordering: .relaxed)
        let before = reportedDrops.exchange(total, ordering: .relaxed)
        if total > before { droppedCounter.increment(by: total - before) }
    }

    func installTemplate(_ client: HTTPClient) async throws {
        let template = """
            {"index_patterns":["logs-bizretail-*"],"data_stream":{},"priority":200,
            "template":{"settings":{"index":{"number_of_replicas":0}},"mappings":{
            "dynamic_templates":[{"labels_as_keywords":{"path_match":"labels.*","mapping":{"type":"keyword"}}}],
            "properties":{"@timestamp":{"type":"date"},"message":{"type":"text"},
            "log":{"properties":{"level":{"type":"keyword"},"logger":{"type":"keyword"}}},
            "ecs":{"properties":{"version":{"type":"keyword"}}},
            "service":{"properties":{"name":{"type":"keyword"},"instance":{"properties":{"id":{"type":"keyword"}}}}},
            "event":{"properties":{"dataset":{"type":"keyword"},"duration":{"type":"long"}}},
            "trace":{"properties":{"id":{"type":"keyword"}}},"span":{"properties":{"id":{"type":"keyword"}}},
            "error":{"properties":{"type":{"type":"keyword"},"message":{"type":"text"}}}}}},
            "_meta":{"description":"Biz Retail logs (ECS)"}}
            """
        var request = HTTPClientRequest(url: "\(endpoint)/_index_template/\(Self.templateName)")
        request.method = .PUT
        request.headers.add(name: "Content-Type", value: "application/json")
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        request.body = .bytes(ByteBuffer(string: template))
        let response = try await client.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 20)
        guard (200..<300).contains(response.status.code) else {
            throw TelemetryError(
                "Elasticsearch answered \(response.status.code) to the index template: "
                    + String(buffer: body).prefix(200))
        }
    }

    private func send(_ lines: ArraySlice<[UInt8]>, _ client: HTTPClient) async throws {
        let action = Array("{\"create\":{}}\n".utf8)
        var body = ByteBuffer()
        body.reserveCapacity(lines.reduce(0) { $0 + $1.count + action.count })
        for line in lines {
            body.writeBytes(action)
            body.writeBytes(line)
            if line.last != UInt8(ascii: "\n") { body.writeInteger(UInt8(ascii: "\n")) }
        }
        var request = HTTPClientRequest(url: "\(endpoint)/\(dataStream)/_bulk")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-ndjson")
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        request.body = .bytes(body)
        let response = try await client.execute(request, timeout: .seconds(30))
        let answer = try await response.body.collect(upTo: 64 << 20)
        guard (200..<300).contains(response.status.code) else {
            throw TelemetryError("Elasticsearch answered \(response.status.code) to _bulk")
        }
        // 200 with `errors: true`: some lines were refused (a mapping conflict); they are counted, not retried.
        let refused = Self.refusedItems(in: answer)
        if refused > 0 { discard(refused) }
        shipped.add(lines.count - refused, ordering: .relaxed)
        shippedCounter.increment(by: lines.count - refused)
    }

    static func refusedItems(in answer: ByteBuffer) -> Int {
        guard answer.readableBytesView.firstRange(of: Array("\"errors\":true".utf8)) != nil,
            let object = try? JSONSerialization.jsonObject(with: Data(answer.readableBytesView)) as? [String: Any],
            let items = object["items"] as? [[String: Any]]
        else { return 0 }
        return items.count { item in
            guard let result = item.values.first as? [String: Any], let status = result["status"] as? Int else {
                return false
            }
            return status >= 300
        }
    }

    private let reported = Atomic<Bool>(false)

    private func report(_ error: any Error, failures: Int, what: String) {
        guard !reported.exchange(true, ordering: .relaxed) else { return }
        diagnose(
            .warning, "cannot ship logs to Elasticsearch; retrying with backoff (lines wait in the buffer)",
            ["action": what, "error": "\(error)"])
    }

    private func report(recovered: Bool) {
        guard reported.exchange(false, ordering: .relaxed) else { return }
        diagnose(.info, "log shipping to Elasticsearch resumed", [:])
    }

    private func diagnose(_ level: Logger.Level, _ message: String, _ metadata: [String: String]) {
        guard let output = diagnostics.withLock({ $0 }) else { return }
        output.writeDiagnostic(
            LogRecord(
                timestamp: .now, level: level, message: message, logger: "biz-retail.log-shipping",
                metadata: metadata.sorted { $0.key < $1.key }.map { ($0.key, Redaction.scrub($0.value)) },
                trace: nil))
    }

    /// 100 ms doubling to 10 s.
    private struct Backoff {
        var failures = 0

        mutating func wait() async {
            let milliseconds = min(10_000, 100 << min(failures, 7))
            failures += 1
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(milliseconds)) }
        }
    }
}

/// A telemetry setting or endpoint that cannot work, described without secrets.
public struct TelemetryError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
