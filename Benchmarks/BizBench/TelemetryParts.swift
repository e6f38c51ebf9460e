import BizRuntime
import BizServiceKit
import BizTelemetry
import CoreMetrics
import Foundation
import Logging
import Metrics
import ServiceContextModule
import Tracing

#if canImport(Glibc)
    import Glibc
#endif

/// `biz-bench telemetry-parts [--operations N] [--tasks N] [--otlp URL]`: what each part of a request's telemetry
/// costs on its own, in CPU time of this process per operation, beside an empty operation measured the same way
/// (`--tasks`: that many tasks share the operations, as a busy server's cores do).
///
/// Telemetry is bootstrapped as `serve` bootstraps it with telemetry on (`Telemetry.bootstrap`: the platform's tracer
/// sampling everything and exporting OTLP/HTTP to `--otlp`, by default `biz-bench otlp-sink`'s
/// `http://127.0.0.1:4318`; the Prometheus registry; OTLP metrics; ECS lines at `info` on standard error, which the
/// caller sends to `/dev/null`), so the exporter's and the log writer's work on their own threads is counted too.
/// The parts are what a gateway request makes: a server span continuing a `traceparent`, with the gateway's
/// attributes; its context bound for the handler; a client span whose `traceparent` goes into the call's metadata;
/// an access line; a route's RED metrics. A part's cost inside a real request is higher (its code and data are
/// not hot in the caches there, and objects cross cores): this locates costs, the gateway benchmark weighs them.
func telemetryParts(_ arguments: ArraySlice<String>) async throws {
    var operations = 200_000
    var otlp = "http://127.0.0.1:4318"
    var tasks = 1
    var iterator = arguments.makeIterator()
    while let argument = iterator.next() {
        switch argument {
        case "--operations": operations = Int(iterator.next() ?? "") ?? operations
        case "--otlp": otlp = iterator.next() ?? otlp
        case "--tasks": tasks = Int(iterator.next() ?? "") ?? tasks
        default: throw BenchError("unknown option \(argument)")
        }
    }
    var configuration = PlatformConfiguration()
    configuration.telemetry.logFormat = "ecs"
    configuration.telemetry.metricsPort = 1
    let telemetry = try Telemetry.bootstrap(
        configuration, serviceName: "biz-bench",
        environment: [
            "OTEL_EXPORTER_OTLP_ENDPOINT": otlp, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_TRACES_SAMPLER": "always_on",
        ])
    guard let tracer = PlatformTracer.shared else { throw BenchError("the tracer is not on") }
    let logger = Logger(label: "biz-retail.gateway")
    let access = AccessLog(
        logger: logger, message: "request", keys: ["http.request.method", "url.path", "http.response.status_code"])
    let route = [("http_route", "/v1/accounts/{id}")]
    let requests = CoreMetrics.Counter(label: "hb_requests", dimensions: route)
    let duration = CoreMetrics.Timer(label: "http_server_request_duration", dimensions: route)
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    guard let remote = SpanContext(traceparent: traceparent) else { throw BenchError("bad traceparent") }

    await withThrowingTaskGroup(of: Void.self) { group in
        for service in telemetry.services { group.addTask { try await service.run() } }
        let (count, taskCount) = (operations, tasks)
        // What the 200 ms wait after each part costs the process (its idle threads), taken off every part.
        let before = processCPU()
        try? await Task.sleep(for: .milliseconds(200))
        let cpuOfSleep = processCPU() - before
        func measure(_ name: String, _ operation: @escaping @Sendable () async -> Void) async {
            for _ in 0..<count / 10 { await operation() }  // warm
            let (cpu, wall) = (processCPU(), ContinuousClock.now)
            await withTaskGroup(of: Void.self) { workers in
                for _ in 0..<taskCount {
                    workers.addTask { for _ in 0..<count / taskCount { await operation() } }
                }
            }
            let elapsed: Duration = ContinuousClock.now - wall
            // The exporter's and the writer's share: they catch up before the CPU time is read.
            tracer.forceFlush()
            try? await Task.sleep(for: .milliseconds(200))
            let spent = processCPU() - cpu - cpuOfSleep
            print(
                name.padding(toLength: 52, withPad: " ", startingAt: 0)
                    + String(
                        format: "%8.0f ns CPU %8.0f ns wall", spent * 1e9 / Double(count),
                        microseconds(elapsed) * 1e3 / Double(count)))
        }
        print(
            "telemetry-parts: \(count) operations each in \(taskCount) task(s); CPU time of the process (every thread)"
                + " and wall time per operation")
        await measure("empty operation (baseline)") {}
        await measure("server span: start, attributes, end") {
            let span = tracer.start("GET", context: .topLevel, continuing: remote, kind: .server)
            span.operationName = "GET /v1/accounts/{id}"
            span.setAttributes([
                ("http.request.method", .string("GET")), ("url.scheme", .string("https")),
                ("url.path", .string("/v1/accounts/0b7e8a3c-6d1f-4c2e-9a5b-3f8e7d6c5b4a")),
                ("http.response.status_code", .int(200)), ("client.address", .string("127.0.0.1")),
                ("network.peer.address", .string("127.0.0.1")), ("http.route", .string("/v1/accounts/{id}")),
                ("user_agent.original", .string("wrk")),
            ])
            span.end()
        }
        await measure("server span, its context bound for the handler") {
            let span = tracer.start("GET", context: .topLevel, continuing: remote, kind: .server)
            await RecordingSpan.withContext(of: span) { await Task.yield() }
            span.end()
        }
        await measure("  the same without the span (its baseline)") {
            await Task.yield()
        }
        await measure("client span: start, traceparent, attributes, end") {
            let span = tracer.start("team.v1.TeamService/GetAccount", context: .topLevel, kind: .client)
            _ = span.spanContext.traceparent
            span.setAttributes([
                ("rpc.system", .string("grpc")), ("rpc.service", .string("team.v1.TeamService")),
                ("rpc.method", .string("GetAccount")),
            ])
            span.end()
        }
        await measure("access line (ECS, info)") {
            access.info(
                ["GET", "/v1/accounts/{id}", "200"], duration: .microseconds(420), span: remote)
        }
        await measure("route metrics: a counter and a timer") {
            requests.increment()
            duration.recordNanoseconds(420_000)
        }
        group.cancelAll()
    }
}

/// This process's user and system CPU time, in seconds.
private func processCPU() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}
