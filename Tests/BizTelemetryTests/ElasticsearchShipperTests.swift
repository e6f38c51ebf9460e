import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Testing

@testable import BizTelemetry

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The shipper against the tests' Elasticsearch endpoint (noida-db, `BIZ_TEST_ELASTICSEARCH_URL`).
@Suite("Shipping ECS lines to Elasticsearch")
struct ElasticsearchShipperTests {
    var url: String? { ProcessInfo.processInfo.environment["BIZ_TEST_ELASTICSEARCH_URL"] }

    /// Runs `shipper` in a service group for the duration of `body`, then shuts it down gracefully.
    func running(_ shipper: ElasticsearchShipper, _ body: () async throws -> Void) async throws {
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: shipper)], logger: Logger(label: "test")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await body()
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    func count(_ namespace: String) async throws -> Int {
        let base = try #require(url)
        let (data, _) = try await URLSession.shared.data(
            from: URL(string: "\(base)/logs-bizretail-\(namespace)/_count?refresh=true")!)
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["count"] as? Int ?? -1
    }

    @Test("lines reach the data stream, behind an index template installed at start")
    func ships() async throws {
        let base = try #require(url, "BIZ_TEST_ELASTICSEARCH_URL is not set (scripts/test sets it)")
        let namespace = "unit\(UUID().uuidString.prefix(8).lowercased())"
        var settings = ElasticsearchShipper.Settings(url: base)
        settings.namespace = namespace
        settings.batchSize = 100
        let shipper = try ElasticsearchShipper(settings: settings)
        try await running(shipper) {
            for index in 0..<250 {
                shipper.enqueue(Array(#"{"@timestamp":"2026-11-30T00:00:00.000Z","message":"line \#(index)"}"#.utf8))
            }
            let deadline = ContinuousClock.now + .seconds(20)
            while shipper.shippedCount < 250, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        #expect(shipper.shippedCount == 250)
        #expect(shipper.droppedCount == 0)
        // Elasticsearch is near-real-time: a line is searchable shortly after it is acknowledged.
        var stored = 0
        for _ in 0..<50 {
            stored = try await count(namespace)
            if stored == 250 { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(stored == 250)
        let (data, _) = try await URLSession.shared.data(from: URL(string: "\(base)/_index_template/logs-bizretail")!)
        #expect(String(decoding: data, as: UTF8.self).contains("logs-bizretail-*"))
    }

    @Test("a full buffer drops and counts lines instead of blocking; they wait while the cluster is down")
    func boundedBuffer() async throws {
        var settings = ElasticsearchShipper.Settings(url: "http://127.0.0.1:9")
        settings.bufferCapacity = 10
        let shipper = try ElasticsearchShipper(settings: settings)
        let start = ContinuousClock.now
        for _ in 0..<25 { shipper.enqueue(Array(#"{"message":"x"}"#.utf8)) }
        #expect(ContinuousClock.now - start < .seconds(1))
        #expect(shipper.droppedCount == 15)
        #expect(shipper.shippedCount == 0)
    }

    @Test("refused items of a 200 answer are counted")
    func refusedItems() {
        let refused = ByteBuffer(
            string: #"{"errors":true,"items":[{"create":{"status":201}},{"create":{"status":400,"error":{}}}]}"#)
        #expect(ElasticsearchShipper.refusedItems(in: refused) == 1)
        let accepted = ByteBuffer(string: #"{"errors":false,"items":[{"create":{"status":201}}]}"#)
        #expect(ElasticsearchShipper.refusedItems(in: accepted) == 0)
    }

    @Test("a URL that is not http(s) is refused, and credentials never show in the error")
    func badURL() {
        #expect(throws: TelemetryError.self) { try ElasticsearchShipper(settings: .init(url: "ftp://u:pw@host")) }
        do {
            _ = try ElasticsearchShipper(settings: .init(url: "elastic:secretpw@host:9200"))
            Issue.record("accepted a URL without a scheme")
        } catch {
            #expect(!"\(error)".contains("secretpw"))
        }
    }
}
