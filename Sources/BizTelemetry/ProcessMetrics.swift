import Foundation
import Metrics
import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#endif

/// The process's CPU time, resident memory, threads and open files from `/proc/self` (Linux), as gauges refreshed
/// every few seconds: `process_cpu_seconds_total`, `process_resident_memory_bytes`, `process_virtual_memory_bytes`,
/// `process_threads`, `process_open_fds`.
public struct ProcessMetrics: Service {
    public var interval: Duration

    private let cpu = Gauge(label: "process_cpu_seconds_total")
    private let resident = Gauge(label: "process_resident_memory_bytes")
    private let virtual = Gauge(label: "process_virtual_memory_bytes")
    private let threads = Gauge(label: "process_threads")
    private let files = Gauge(label: "process_open_fds")

    public init(interval: Duration = .seconds(5)) { self.interval = interval }

    public func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            update()
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// Reads `/proc/self/stat` now.
    public func update() {
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return }
        // Fields after the command name, which may itself hold spaces: state is field 3 (index 0 here).
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        func field(_ number: Int) -> Double? { fields.count > number - 3 ? Double(fields[number - 3]) : nil }
        if let user = field(14), let system = field(15) { cpu.record((user + system) / ticks) }
        if let count = field(20) { threads.record(count) }
        if let bytes = field(23) { virtual.record(bytes) }
        if let pages = field(24) { resident.record(pages * pageSize) }
        if let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            files.record(Double(entries.count))
        }
    }
}

extension Duration {
    /// Milliseconds, with microsecond precision (for log lines).
    public var milliseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1_000 + Double(attoseconds / 1_000_000_000_000) / 1_000
    }

    /// Whole nanoseconds.
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
