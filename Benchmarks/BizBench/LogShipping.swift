import BizTelemetry
import BizTesting
import Foundation
import Logging
import ServiceLifecycle

/// Log shipping's sustained rate: `--rate` ECS lines per second for `--seconds` through the platform's own log
/// handler (redaction, encoding, the bounded buffer) and ``ElasticsearchShipper`` to `--url`, paced in 10 ms ticks.
/// Prints what was offered, shipped and dropped, and what the cluster counts in the run's own data stream.
func logShipping(_ arguments: ArraySlice<String>) async throws {
    var rate = 20_000
    var seconds = 15
    var url = "http://127.0.0.1:19200"
    var iterator = arguments.makeIterator()
    while let argument = iterator.next() {
        switch argument {
        case "--rate": rate = Int(iterator.next() ?? "") ?? rate
        case "--seconds": seconds = Int(iterator.next() ?? "") ?? seconds
        case "--url": url = iterator.next() ?? url
        default: throw BenchError("unknown option \(argument)")
        }
    }
    var settings = ElasticsearchShipper.Settings(url: url)
    settings.namespace = "bench\(UUID().uuidString.prefix(8).lowercased())"
    let shipper = try ElasticsearchShipper(settings: settings)
    let devNull = open("/dev/null", O_WRONLY)
    let output = LogOutput(
        format: .ecs, serviceName: "biz-bench", instanceID: "bench", shipper: shipper, descriptor: devNull)
    let logger = Logger(label: "biz-bench") { label in ECSLogHandler(label: label, level: .info, output: output) }
    let group = ServiceGroup(
        configuration: .init(services: [.init(service: shipper)], logger: Logger(label: "bench")))
    var offered = 0
    let start = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        let perTick = max(1, rate / 100)
        var tick = start
        while ContinuousClock.now - start < .seconds(seconds) {
            for _ in 0..<perTick {
                offered += 1
                logger.info(
                    "request",
                    metadata: [
                        "http.request.method": "GET", "url.path": "/v1/accounts/{id}",
                        "http.response.status_code": "200",
                        "duration_ms": "1.234", "sequence": "\(offered)",
                    ])
            }
            tick = tick.advanced(by: .milliseconds(10))
            try await Task.sleep(until: tick, clock: .continuous)
        }
        // Let the buffer drain, then stop (what is left is sent once more at shutdown).
        let drainStart = ContinuousClock.now
        while shipper.shippedCount + shipper.droppedCount < offered, ContinuousClock.now - drainStart < .seconds(30) {
            try await Task.sleep(for: .milliseconds(50))
        }
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
    }
    let elapsed = ContinuousClock.now - start
    // The cluster's own count of the run's lines (near-real-time: refresh first).
    _ = try? await runProgram(
        "/usr/bin/curl", ["-s", "-X", "POST", "\(url)/logs-bizretail-\(settings.namespace)/_refresh"])
    let count = try await runProgram("/usr/bin/curl", ["-s", "\(url)/logs-bizretail-\(settings.namespace)/_count"])
        .output
    let stored = (try? JSONSerialization.jsonObject(with: Data(count.utf8)) as? [String: Any])?["count"] as? Int ?? -1
    print(
        "log-shipping: offered \(offered) lines at \(rate)/s over \(seconds) s; shipped \(shipper.shippedCount), "
            + "dropped \(shipper.droppedCount), stored \(stored); \(Int(Double(shipper.shippedCount) / Double(elapsed.components.seconds))) lines/s "
            + "over \(elapsed) including the drain")
}
