import BizProtos
import Foundation
import Logging
import ServiceLifecycle
import SwiftProtobuf
import Synchronization
import Testing
import Tracing

@testable import BizTelemetry

/// Keeps what it is given (the exporter of these tests; the real ones are tested against the OTLP receiver).
final class MemoryExporter: SpanExporter {
    let exported = Mutex<[[FinishedSpan]]>([])
    func export(_ spans: [FinishedSpan]) async throws { exported.withLock { $0.append(spans) } }
    func shutdown() async {}
    var spans: [FinishedSpan] { exported.withLock { $0.flatMap { $0 } } }
}

/// Takes the batches an OTLP exporter would send, already encoded.
final class EncodedMemoryExporter: EncodedSpanExporter {
    let batches = Mutex<[(bytes: [UInt8], count: Int)]>([])
    func export(_ spans: [FinishedSpan]) async throws { Issue.record("spans are encoded as they end") }
    func export(encoded spans: [UInt8], count: Int) async throws {
        batches.withLock { $0.append((spans, count)) }
    }
    func shutdown() async {}
}

@Suite("The platform tracer: W3C context, sampling, batching, the OTLP encoding")
struct TracerTests {
    let logger = Logger(label: "test")

    @Test("a traceparent round-trips; malformed ones, zero ids and version ff are refused")
    func traceparent() throws {
        let text = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        let context = try #require(SpanContext(traceparent: text, traceState: "vendor=1"))
        #expect(context.traceparent == text)
        #expect(context.traceIDHex == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(context.spanIDHex == "00f067aa0ba902b7")
        #expect(context.sampled && context.isRemote && context.traceState == "vendor=1")
        #expect(SpanContext(traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")?.sampled == false)
        // Written back as read: leading zeros kept, the flags of an unsampled span.
        let unsampled = SpanContext(traceID: (0x0000_0000_0000_00ff, 0x1), spanID: 0xa, sampled: false)
        #expect(unsampled.traceparent == "00-00000000000000ff0000000000000001-000000000000000a-00")
        #expect(unsampled.traceIDHex == "00000000000000ff0000000000000001" && unsampled.spanIDHex == "000000000000000a")
        // A later version may carry more fields; version 00 may not.
        #expect(SpanContext(traceparent: "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra") != nil)
        for bad in [
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01", "00-4bf92f35", "",
        ] {
            #expect(SpanContext(traceparent: bad) == nil, "\(bad)")
        }
    }

    @Test("a child span keeps its parent's trace, names the parent, and ends into the batch once")
    func parentAndChild() async throws {
        let exporter = MemoryExporter()
        let batcher = SpanBatcher(exporter: exporter, logger: logger)
        let tracer = PlatformTracer(sampler: .default, batcher: batcher)
        let parent = tracer.startSpan("parent", context: .topLevel, ofKind: .server)
        let child = tracer.startSpan("child", context: parent.context, ofKind: .client)
        child.attributes["rpc.method"] = "GetAccount"
        child.setStatus(SpanStatus(code: .error, message: "unavailable"))
        child.end()
        child.end()
        parent.end()
        #expect(batcher.pending == 2)
        try await run(batcher, flushing: true) { exporter.spans.count == 2 }
        let spans = exporter.spans
        let (exportedChild, exportedParent) = (spans[0], spans[1])
        #expect(exportedChild.name == "child" && exportedParent.name == "parent")
        #expect(exportedChild.context.traceID == exportedParent.context.traceID)
        #expect(exportedChild.context.parentSpanID == exportedParent.context.spanID)
        #expect(exportedParent.context.parentSpanID == nil)
        #expect(exportedChild.status?.code == .error)
        #expect(exportedChild.attributes["rpc.method"]?.toSpanAttribute() == .string("GetAccount"))
        #expect(exportedChild.end >= exportedChild.start)
    }

    @Test("a span bound alone is the active span; a context's span in it, and one bound in that, stay innermost")
    func binding() async throws {
        let (_, tracer) = unscheduled(MemoryExporter(), batch: 100)
        let request = tracer.start("request", context: .topLevel, kind: .server)
        await RecordingSpan.withContext(of: request) {
            // Bound without a ServiceContext, yet what logs, calls and child spans read.
            #expect(ServiceContext.current?.spanContext == nil)
            #expect(SpanContext.current == request.spanContext)
            #expect(TraceContext.current?.spanID == request.spanContext.spanIDHex)
            // What swift-distributed-tracing's `withSpan` does: start in the current context, bind the span's.
            let transaction = tracer.startSpan(
                "db.transaction", context: ServiceContext.current ?? .topLevel, ofKind: .client)
            #expect(transaction.spanContext.parentSpanID == request.spanContext.spanID)
            await ServiceContext.withValue(transaction.context) {
                #expect(SpanContext.current == transaction.spanContext)
                let inner = tracer.start("inner", context: ServiceContext.current ?? .topLevel, kind: .internal)
                #expect(inner.spanContext.parentSpanID == transaction.spanContext.spanID)
                await RecordingSpan.withContext(of: inner) {
                    // Bound into the ServiceContext this time, so a `withSpan` inside it is its child.
                    #expect(ServiceContext.current?.spanContext == inner.spanContext)
                    let leaf = tracer.startSpan(
                        "leaf", context: ServiceContext.current ?? .topLevel, ofKind: .internal)
                    #expect(leaf.spanContext.parentSpanID == inner.spanContext.spanID)
                    #expect(TraceContext.current?.spanID == inner.spanContext.spanIDHex)
                }
                #expect(SpanContext.current == transaction.spanContext)
            }
            #expect(SpanContext.current == request.spanContext)
            // A child task inherits the binding.
            let inherited = await Task { SpanContext.current }.value
            #expect(inherited == request.spanContext)
        }
        #expect(SpanContext.current == nil)
    }

    @Test("spans that end while the service shuts down are still exported")
    func shutdownFlushes() async throws {
        let exporter = MemoryExporter()
        var settings = SpanBatcher.Settings()
        settings.scheduleDelay = .seconds(3_600)
        let batcher = SpanBatcher(exporter: exporter, settings: settings, logger: logger)
        let tracer = PlatformTracer(sampler: .default, batcher: batcher)
        let group = ServiceGroup(services: [batcher], logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            for index in 0..<3 { tracer.startSpan("span \(index)", context: .topLevel, ofKind: .internal).end() }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(exporter.spans.map(\.name) == ["span 0", "span 1", "span 2"])
    }

    @Test("a full buffer drops spans instead of blocking, and a full batch is exported without waiting")
    func boundedBuffer() async throws {
        let exporter = MemoryExporter()
        let (batcher, tracer) = unscheduled(exporter, batch: 4, queue: 4)
        for index in 0..<6 { tracer.startSpan("span \(index)", context: .topLevel, ofKind: .internal).end() }
        #expect(batcher.pending == 4)
        // The batch filled up before the service ran: the wake-up it left is taken at once.
        try await run(batcher) { exporter.spans.count == 4 }
        #expect(exporter.spans.map(\.name) == ["span 0", "span 1", "span 2", "span 3"])
    }

    @Test("spans encoded as they end make the request the spans' own encoding makes, split into batches when late")
    func encodedBatches() async throws {
        let exporter = EncodedMemoryExporter()
        let (batcher, tracer) = unscheduled(exporter, batch: 3)
        let root = tracer.startSpan("GET /v1/teams/{id}", context: .topLevel, ofKind: .server)
        root.setAttributes([
            ("http.route", .string("/v1/teams/{id}")), ("url.path", .string(String(repeating: "a", count: 300))),
        ])
        root.end()
        for index in 0..<6 {
            tracer.startSpan("child \(index)", context: root.context, ofKind: .client).end()
        }
        #expect(batcher.pending == 7)
        // Seven spans waited for an export that takes batches of three: 3, 3 and 1.
        try await run(batcher) { exporter.batches.withLock { $0.map(\.count).reduce(0, +) } == 7 }
        let batches = exporter.batches.withLock { $0 }
        #expect(batches.map(\.count) == [3, 3, 1])
        let resource = [("service.name", "biz-retail")]
        var names: [String] = []
        for batch in batches {
            let bytes =
                OTLPEncoder.requestPrefix(spansLength: batch.bytes.count, resource: resource, scope: "biz-retail")
                + batch.bytes
            let request = try Opentelemetry_Proto_Collector_Trace_V1_ExportTraceServiceRequest(serializedBytes: bytes)
            let spans = try #require(request.resourceSpans.first?.scopeSpans.first?.spans)
            #expect(spans.count == batch.count)
            names += spans.map(\.name)
            // The prefix's lengths are right: SwiftProtobuf writes the decoded request back to the same bytes.
            let written: [UInt8] = try request.serializedBytes()
            #expect(written == bytes)
        }
        #expect(names == ["GET /v1/teams/{id}"] + (0..<6).map { "child \($0)" })
    }

    @Test("samplers: always_off propagates an unsampled context, parent-based follows the parent, ratios bound")
    func sampling() throws {
        let exporter = MemoryExporter()
        let batcher = SpanBatcher(exporter: exporter, logger: logger)
        let off = PlatformTracer(sampler: try #require(Sampler(name: "always_off", argument: nil)), batcher: batcher)
        let dropped = off.startSpan("dropped", context: .topLevel, ofKind: .server)
        #expect(!dropped.isRecording)
        #expect(dropped.context.spanContext?.sampled == false)
        dropped.end()
        #expect(batcher.pending == 0)
        // A sampled remote parent keeps a parent-based always_off tracer's child.
        var remote = ServiceContext.topLevel
        remote.spanContext = SpanContext(traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        let parentBased = PlatformTracer(
            sampler: try #require(Sampler(name: "parentbased_always_off", argument: nil)), batcher: batcher)
        let child = parentBased.startSpan("child", context: remote, ofKind: .server)
        #expect(child.isRecording)
        #expect(child.context.spanContext?.traceIDHex == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(child.context.spanContext?.parentSpanID == 0x00f0_67aa_0ba9_02b7)
        #expect(Sampler(name: "traceidratio", argument: "0")?.samples(traceID: (1, 1), parent: nil) == false)
        #expect(Sampler(name: "traceidratio", argument: "1")?.samples(traceID: (1, .max), parent: nil) == true)
        #expect(Sampler(name: "sometimes", argument: nil) == nil)
    }

    @Test("the encoder's bytes decode as OTLP's ExportTraceServiceRequest, long values and big batches included")
    func encoding() throws {
        let exporter = MemoryExporter()
        let batcher = SpanBatcher(exporter: exporter, logger: logger)
        let tracer = PlatformTracer(sampler: .default, batcher: batcher)
        let root = tracer.startSpan("GET /v1/accounts/{id}", context: .topLevel, ofKind: .server)
        root.attributes["http.response.status_code"] = 200
        root.attributes["url.path"] = "/v1/" + String(repeating: "a", count: 300)
        root.attributes["flags"] = [true, false]
        root.attributes["ratio"] = 0.5
        // The platform's own list of attributes, one of them shadowed by the dictionary's value.
        root.setAttributes([("http.route", .string("/v1/accounts/{id}")), ("ratio", .double(0.25))])
        root.setAttributes([("client.address", .string("203.0.113.7"))])
        root.recordError(TestError())
        root.setStatus(SpanStatus(code: .error, message: "failed"))
        root.end()
        for index in 0..<500 {
            tracer.startSpan("child \(index)", context: root.context, ofKind: .client).end()
        }
        // The batcher has them; take them as its export would.
        let spans = try collect(batcher)
        let bytes = OTLPEncoder.request(
            spans, resource: [("service.name", "biz-retail"), ("service.instance.id", "i-1")], scope: "biz-retail")
        #expect(bytes.count > 16_384)
        let request = try Opentelemetry_Proto_Collector_Trace_V1_ExportTraceServiceRequest(serializedBytes: bytes)
        let resourceSpans = try #require(request.resourceSpans.first)
        #expect(resourceSpans.resource.attributes.map(\.key) == ["service.name", "service.instance.id"])
        #expect(resourceSpans.resource.attributes.first?.value.stringValue == "biz-retail")
        let decoded = try #require(resourceSpans.scopeSpans.first)
        #expect(decoded.scope.name == "biz-retail")
        #expect(decoded.spans.count == 501)
        let first = decoded.spans[0]
        #expect(first.name == "GET /v1/accounts/{id}")
        #expect(first.kind == .server)
        #expect(first.traceID == Data(spans[0].context.traceIDBytes))
        #expect(first.spanID.count == 8 && first.parentSpanID.isEmpty)
        #expect(first.status.code == .error && first.status.message == "failed")
        let attributes = Dictionary(uniqueKeysWithValues: first.attributes.map { ($0.key, $0.value) })
        #expect(attributes["http.response.status_code"]?.intValue == 200)
        #expect(attributes["url.path"]?.stringValue.count == 304)
        #expect(attributes["flags"]?.arrayValue.values.map(\.boolValue) == [true, false])
        #expect(attributes["ratio"]?.doubleValue == 0.5)
        #expect(first.attributes.filter { $0.key == "ratio" }.count == 1)
        #expect(attributes["http.route"]?.stringValue == "/v1/accounts/{id}")
        #expect(attributes["client.address"]?.stringValue == "203.0.113.7")
        #expect(spans[0].attribute("client.address") == .string("203.0.113.7"))
        #expect(root.attributes.get("http.route") == .string("/v1/accounts/{id}"))
        #expect(first.events.first?.name == "exception")
        #expect(first.startTimeUnixNano == spans[0].start && first.endTimeUnixNano == spans[0].end)
        #expect(first.flags & 0x1 == 1)
        #expect(decoded.spans[1].attributes.isEmpty)
        let child = decoded.spans[500]
        #expect(child.name == "child 499" && child.kind == .client)
        #expect(child.parentSpanID == first.spanID && child.traceID == first.traceID)
    }

    @Test("a value whose description changes from one reading to the next is read once per span and encoded whole")
    func changingDescription() throws {
        let exporter = MemoryExporter()
        let batcher = SpanBatcher(exporter: exporter, logger: logger)
        let tracer = PlatformTracer(sampler: .default, batcher: batcher)
        let span = tracer.startSpan("growing", context: .topLevel, ofKind: .internal)
        let growing = Growing()
        span.attributes.set("growing", value: .stringConvertible(growing))
        span.addEvent(SpanEvent(name: "grown", attributes: ["growing": .stringConvertible(growing)]))
        span.end()
        let spans = try collect(batcher)
        growing.step = 300  // each later reading is 300 bytes longer
        let bytes = OTLPEncoder.request(spans, resource: [], scope: "biz-retail")
        let request = try Opentelemetry_Proto_Collector_Trace_V1_ExportTraceServiceRequest(serializedBytes: bytes)
        let decoded = try #require(request.resourceSpans.first?.scopeSpans.first?.spans.first)
        let value = try #require(decoded.attributes.first { $0.key == "growing" }?.value.stringValue)
        let eventValue = try #require(decoded.events.first?.attributes.first?.value.stringValue)
        #expect(value.count >= 300 && eventValue.count > value.count)
    }

    @Test("OTEL_* settings: defaults, the signal's endpoint as given, the general one with its path, bad values named")
    func settings() throws {
        let none = try TracingSettings(environment: [:])
        #expect(none.enabled && none.exporter == nil && none.sampler == .default)
        let http = try #require(
            try TracingSettings(environment: [
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/", "OTEL_EXPORTER_OTLP_HEADERS": "api-key=a%3Db",
                "OTEL_BSP_SCHEDULE_DELAY": "200",
            ]).exporter)
        #expect(http.protocol == .httpProtobuf && http.endpoint.absoluteString == "http://collector:4318/v1/traces")
        #expect(http.headers.map { "\($0.0)=\($0.1)" } == ["api-key=a=b"])
        let grpc = try #require(
            try TracingSettings(environment: [
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://collector:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
            ]).exporter)
        #expect(grpc.protocol == .grpc && grpc.endpoint.absoluteString == "https://collector:4317")
        #expect(try TracingSettings(environment: ["OTEL_SDK_DISABLED": "true"]).enabled == false)
        #expect(
            try TracingSettings(environment: ["OTEL_EXPORTER_OTLP_ENDPOINT": "x", "OTEL_TRACES_EXPORTER": "none"])
                .exporter == nil)
        for (name, value) in [
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"), ("OTEL_TRACES_SAMPLER", "sometimes"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "-1"), ("OTEL_TRACES_EXPORTER", "zipkin"),
        ] {
            #expect(throws: TracingSettings.InvalidValue.self, "\(name)") {
                try TracingSettings(environment: ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", name: value])
            }
        }
        let resource = TracingSettings.resource(
            serviceName: "team", instanceID: "i-1",
            environment: ["OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=prod,service.name=ignored"])
        #expect(resource.first { $0.0 == "service.name" }?.1 == "team")
        #expect(resource.contains { $0 == ("deployment.environment", "prod") })
    }

    struct TestError: Error {}

    /// The spans `batcher` holds, by exporting them to memory once.
    func collect(_ batcher: SpanBatcher) throws -> [FinishedSpan] {
        batcher.takeAll()
    }

    /// A batcher of `batch`-span batches (queueing `queue`) that exports only when a batch is full or flushed, and
    /// a tracer ending into it.
    func unscheduled(
        _ exporter: any SpanExporter, batch: Int, queue: Int = SpanBatcher.Settings().maxQueueSize
    ) -> (SpanBatcher, PlatformTracer) {
        var settings = SpanBatcher.Settings()
        settings.scheduleDelay = .seconds(3_600)
        settings.maxQueueSize = queue
        settings.maxExportBatchSize = batch
        let batcher = SpanBatcher(exporter: exporter, settings: settings, logger: logger)
        return (batcher, PlatformTracer(sampler: .default, batcher: batcher))
    }

    /// Runs `batcher`'s service (flushed at once when `flushing`) until `done`, then shuts it down.
    func run(_ batcher: SpanBatcher, flushing: Bool = false, until done: () -> Bool) async throws {
        let group = ServiceGroup(services: [batcher], logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            if flushing { batcher.flush() }
            try await waitUntil(done)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    func waitUntil(_ condition: () -> Bool) async throws {
        for _ in 0..<500 {
            if condition() { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("timed out")
    }
}

/// A value whose description is `step` bytes longer at each reading.
private final class Growing: CustomStringConvertible, @unchecked Sendable {
    var step = 0
    private var readings = 0
    var description: String {
        readings += 1
        return String(repeating: "x", count: readings * step)
    }
}
