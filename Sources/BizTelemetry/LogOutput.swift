import Foundation
import Logging
import ServiceContextModule
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// How log records leave the process: on standard error as ECS JSON or text, and as ECS JSON to an
/// ``ElasticsearchShipper`` when one is configured. One per process; ``ECSLogHandler`` writes through it.
public final class LogOutput: Sendable {
    public enum Format: String, Sendable, CaseIterable {
        /// One ECS JSON object per line (Elastic Common Schema).
        case ecs
        /// One readable line per record.
        case text
    }

    public let format: Format
    /// `service.name`: `biz-retail` in the embedded mode, the service in the distributed mode.
    public let serviceName: String
    /// `service.instance.id`.
    public let instanceID: String
    public let shipper: ElasticsearchShipper?
    /// `event.dataset`: `bizretail.<service.name>`.
    let dataset: String
    private let standardError: FileOutput

    /// `descriptor` is where lines go, standard error unless a test names another file.
    public init(
        format: Format, serviceName: String, instanceID: String, shipper: ElasticsearchShipper? = nil,
        descriptor: Int32 = 2
    ) {
        self.format = format
        self.serviceName = serviceName
        self.instanceID = instanceID
        self.dataset = "bizretail.\(serviceName)"
        self.shipper = shipper
        self.standardError = FileOutput(descriptor: descriptor)
        shipper?.attach(self)
    }

    /// Writes the lines still buffered (they are at most ``FileOutput/flushInterval`` old, and written at exit).
    public func flush() { standardError.flush() }

    /// ECS on a pipe or file (collectors read it), text on a terminal.
    public static var defaultFormat: Format { isatty(2) == 1 ? .text : .ecs }

    func write(_ record: LogRecord) {
        let json =
            format == .ecs || shipper != nil
            ? record.ecs(service: serviceName, instance: instanceID, dataset: dataset) : []
        let urgent = record.level >= .warning
        switch format {
        case .ecs: standardError.write(json, urgent: urgent)
        case .text: standardError.write(record.text(), urgent: urgent)
        }
        shipper?.enqueue(json)
    }

    /// Writes a line to standard error only: the shipper's own diagnostics, which must not feed the shipper.
    func writeDiagnostic(_ record: LogRecord) {
        switch format {
        case .ecs: standardError.write(record.ecs(service: serviceName, instance: instanceID, dataset: dataset))
        case .text: standardError.write(record.text())
        }
    }
}

/// Whole lines to a file descriptor, never interleaved, in the order they were logged. Lines below `warning` wait
/// in a buffer for at most ``flushInterval`` (one `write` for many lines: a system call per line was a tenth of a
/// busy gateway's logging cost); a `warning` or worse is written at once, with everything before it. The buffer is
/// flushed at exit; a process killed outright loses at most the last interval's `info` lines.
final class FileOutput: Sendable {
    static let flushInterval: Duration = .milliseconds(25)
    /// Written at once past this size.
    static let bufferLimit = 64 * 1024

    private struct State {
        var descriptor: Int32
        var buffer: [UInt8] = []
    }
    private let state: Mutex<State>

    init(descriptor: Int32) {
        state = Mutex(State(descriptor: descriptor))
        Self.register(self)
    }

    func write(_ bytes: [UInt8], urgent: Bool = true) {
        state.withLock { state in
            state.buffer.append(contentsOf: bytes)
            if urgent || state.buffer.count >= Self.bufferLimit { Self.drain(&state) }
        }
    }

    /// Writes what is buffered.
    func flush() { state.withLock { Self.drain(&$0) } }

    private static func drain(_ state: inout State) {
        guard !state.buffer.isEmpty else { return }
        let descriptor = state.descriptor
        state.buffer.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
        state.buffer.removeAll(keepingCapacity: true)
    }

    /// Every output of the process, flushed by one thread every ``flushInterval`` and at exit.
    private static let outputs = Mutex<[FileOutput]>([])

    private static func register(_ output: FileOutput) {
        let first = outputs.withLock { outputs in
            outputs.append(output)
            return outputs.count == 1
        }
        guard first else { return }
        atexit { FileOutput.flushAll() }
        let thread = Thread {
            while true {
                Thread.sleep(forTimeInterval: Double(flushInterval.components.attoseconds) / 1e18)
                flushAll()
            }
        }
        thread.name = "log-flush"
        thread.start()
    }

    static func flushAll() {
        for output in outputs.withLock({ $0 }) { output.flush() }
    }
}

/// swift-log's handler for the platform: every record redacted (``Redaction``), stamped with the active trace and
/// span, and written through the process's ``LogOutput``.
public struct ECSLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level
    let label: String
    let output: LogOutput

    public init(label: String, level: Logger.Level, output: LogOutput, metadataProvider: Logger.MetadataProvider? = nil)
    {
        self.label = label
        self.logLevel = level
        self.output = output
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [(String, String)] = []
        let provided = metadataProvider?.get()
        if metadata.isEmpty, provided?.isEmpty ?? true {
            // The usual case: only the call's own metadata, nothing to merge.
            if let explicit = event.metadata {
                fields.reserveCapacity(explicit.count + 2)
                for (key, value) in explicit { fields.append((key, Redaction.value(value.description, key: key))) }
            }
        } else {
            var merged = metadata
            if let provided { merged.merge(provided) { _, new in new } }
            if let explicit = event.metadata { merged.merge(explicit) { _, new in new } }
            fields = merged.map { key, value in (key, Redaction.value(value.description, key: key)) }
        }
        if let error = event.error {
            fields.append(("error", Redaction.scrub("\(error)")))
            fields.append(("error_type", "\(type(of: error))"))
        }
        fields.sort { $0.0 < $1.0 }
        output.write(
            LogRecord(
                timestamp: .now, level: event.level, message: Redaction.scrub(event.message.description),
                logger: label, metadata: fields, trace: .current))
    }
}

/// An access line — the gateway's `request`, a server's `rpc` — at `info`, one per request or call. Written straight
/// to the process's ``LogOutput`` when the logger's handler is the platform's ``ECSLogHandler`` writing ECS: no
/// `Logger.Metadata` dictionary, no task-local read for the trace (the caller passes its span), the duration as
/// ECS's `event.duration`. The line is the one the handler would write for the same call; with another handler, or
/// in the text format, it goes through `logger` as usual.
public struct AccessLog: Sendable {
    private let logger: Logger
    private let output: LogOutput?
    private let label: String
    /// The handler's own metadata, redacted once.
    private let metadata: [(String, String)]

    public init(logger: Logger) {
        self.logger = logger
        if let handler = logger.handler as? ECSLogHandler, handler.metadataProvider == nil,
            handler.output.format == .ecs
        {
            output = handler.output
            label = handler.label
            metadata = handler.metadata.map { key, value in (key, Redaction.value(value.description, key: key)) }
        } else {
            (output, label, metadata) = (nil, logger.label, [])
        }
    }

    /// The logger writes `info` lines.
    public var isEnabled: Bool { logger.logLevel <= .info }

    /// Writes `message` with `fields` (keys the platform's own, none sensitive: the values are still scrubbed), the
    /// duration, and the span the line belongs to.
    public func info(_ message: String, _ fields: [(String, String)], duration: Duration, span: SpanContext?) {
        guard isEnabled else { return }
        guard let output else {
            var metadata = Logger.Metadata()
            for (key, value) in fields { metadata[key] = .string(value) }
            metadata["duration_ms"] = "\(duration.milliseconds)"
            logger.info("\(message)", metadata: metadata)
            return
        }
        var all = metadata
        all.reserveCapacity(metadata.count + fields.count)
        for (key, value) in fields { all.append((key, Redaction.scrub(value))) }
        all.sort { $0.0 < $1.0 }
        output.write(
            LogRecord(
                timestamp: .now, level: .info, message: message, logger: label, metadata: all,
                trace: span.map(LogRecord.Trace.span), durationNanoseconds: Int(duration.nanoseconds)))
    }
}

/// One record, redacted, ready to encode.
struct LogRecord: Sendable {
    /// The trace and span a line belongs to: the platform tracer's binary ids (formatted straight into the line),
    /// or the hex of another propagator.
    enum Trace: Sendable {
        case span(SpanContext)
        case hex(TraceContext)

        /// The active span of the task, if any.
        static var current: Trace? {
            guard let context = ServiceContext.current else { return nil }
            if let span = context.spanContext { return .span(span) }
            return TraceContext(of: context).map(Trace.hex)
        }

        var traceIDHex: String {
            switch self {
            case .span(let span): span.traceIDHex
            case .hex(let trace): trace.traceID
            }
        }
    }

    var timestamp: WallClock
    var level: Logger.Level
    var message: String
    var logger: String
    var metadata: [(String, String)]
    var trace: Trace?
    /// ECS's `event.duration`, when the caller measured it as a number (else read from a `duration_ms` field).
    var durationNanoseconds: Int?

    static let ecsVersion = "8.11.0"

    func ecs(service: String, instance: String, dataset: String) -> [UInt8] {
        var json = JSONLine()
        json.timestamp("@timestamp", timestamp)
        json.field("log.level", level.rawValue)
        json.field("message", message)
        json.field("ecs.version", Self.ecsVersion)
        json.field("service.name", service)
        json.field("service.instance.id", instance)
        json.field("event.dataset", dataset)
        json.field("log.logger", logger)
        switch trace {
        case .span(let span):
            json.hex("trace.id", span.traceID.high, span.traceID.low)
            json.hex("span.id", span.spanID)
        case .hex(let trace):
            json.field("trace.id", trace.traceID)
            json.field("span.id", trace.spanID)
        case nil: break
        }
        if let durationNanoseconds { json.number("event.duration", durationNanoseconds) }
        var labels: [(String, String)] = []
        for (key, value) in metadata {
            // ECS has fields for these; the rest go under `labels`.
            if key == "error" || key == "reason" {
                json.field("error.message", value)
            } else if key == "error_type" {
                json.field("error.type", value)
            } else if key == "duration_ms", let milliseconds = Double(value) {
                // ECS's `event.duration` is a number of nanoseconds (Kibana charts it).
                json.number("event.duration", Int(milliseconds * 1_000_000))
            } else {
                labels.append((key, value))
            }
        }
        json.object("labels", labels)
        return json.finish()
    }

    func text() -> [UInt8] {
        var line = "\(timestamp.iso8601) \(level.rawValue) \(logger): \(message)"
        for (key, value) in metadata { line += " \(key)=\(value)" }
        if let durationNanoseconds { line += " duration_ms=\(Double(durationNanoseconds / 1_000) / 1_000)" }
        if let trace { line += " trace.id=\(trace.traceIDHex)" }
        line += "\n"
        return Array(line.utf8)
    }
}

/// One JSON object on one line, fields written in order (ECS dotted names are valid field names).
struct JSONLine {
    private var bytes: [UInt8] = [UInt8(ascii: "{")]

    init() { bytes.reserveCapacity(512) }

    mutating func field(_ name: String, _ value: String) {
        key(name)
        append(string: value)
    }

    /// `"name":"<hex>"`: the 64-bit words as 16 lowercase hex digits each.
    mutating func hex(_ name: String, _ first: UInt64, _ second: UInt64? = nil) {
        key(name)
        bytes.append(UInt8(ascii: "\""))
        SpanContext.appendHex(first, to: &bytes)
        if let second { SpanContext.appendHex(second, to: &bytes) }
        bytes.append(UInt8(ascii: "\""))
    }

    /// `"name":"2026-11-30T12:34:56.789Z"`.
    mutating func timestamp(_ name: String, _ clock: WallClock) {
        key(name)
        bytes.append(UInt8(ascii: "\""))
        clock.appendISO8601(to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func number(_ name: String, _ value: Int) {
        key(name)
        bytes.append(contentsOf: String(value).utf8)
    }

    /// `"name":`, after a comma unless it is the first field.
    private mutating func key(_ name: String) {
        if bytes.count > 1 { bytes.append(UInt8(ascii: ",")) }
        append(string: name)
        bytes.append(UInt8(ascii: ":"))
    }

    /// An object of string values; ECS labels are flat keywords, so dots in keys become underscores.
    mutating func object(_ name: String, _ fields: [(String, String)]) {
        guard !fields.isEmpty else { return }
        key(name)
        bytes.append(UInt8(ascii: "{"))
        for (index, (key, value)) in fields.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            append(string: key, dotsAsUnderscores: true)
            bytes.append(UInt8(ascii: ":"))
            append(string: value)
        }
        bytes.append(UInt8(ascii: "}"))
    }

    mutating func finish() -> [UInt8] {
        bytes.append(UInt8(ascii: "}"))
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }

    /// A JSON string: copied whole when nothing in it needs escaping (almost always), else byte by byte.
    private mutating func append(string: String, dotsAsUnderscores: Bool = false) {
        bytes.append(UInt8(ascii: "\""))
        let plain = string.utf8.allSatisfy { byte in
            byte >= 0x20 && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\")
                && (!dotsAsUnderscores || byte != UInt8(ascii: "."))
        }
        if plain {
            bytes.append(contentsOf: string.utf8)
            bytes.append(UInt8(ascii: "\""))
            return
        }
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\n"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\r"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case UInt8(ascii: "\t"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case UInt8(ascii: ".") where dotsAsUnderscores: bytes.append(UInt8(ascii: "_"))
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: Array("\\u00".utf8))
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 0xF)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

/// The wall clock in milliseconds, formatted as ECS wants it (`2026-11-30T12:34:56.789Z`).
struct WallClock: Sendable {
    var seconds: Int
    var milliseconds: Int

    static var now: WallClock {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return WallClock(seconds: spec.tv_sec, milliseconds: spec.tv_nsec / 1_000_000)
    }

    /// The formatted second, cached: lines come many per second.
    private static let lastSecond = Mutex<(seconds: Int, text: [UInt8])>((-1, []))

    var iso8601: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        appendISO8601(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `2026-11-30T12:34:56.789Z`.
    func appendISO8601(to bytes: inout [UInt8]) {
        let appended = Self.lastSecond.withLock { last in
            guard last.seconds == seconds else { return false }
            bytes.append(contentsOf: last.text)
            return true
        }
        if !appended {
            let second = formatSecond()
            Self.lastSecond.withLock { $0 = (seconds, second) }
            bytes.append(contentsOf: second)
        }
        bytes.append(UInt8(ascii: "0") + UInt8(milliseconds / 100))
        bytes.append(UInt8(ascii: "0") + UInt8(milliseconds / 10 % 10))
        bytes.append(UInt8(ascii: "0") + UInt8(milliseconds % 10))
        bytes.append(UInt8(ascii: "Z"))
    }

    /// `2026-11-30T12:34:56.`
    private func formatSecond() -> [UInt8] {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.utf8.count)) + digits
        }
        return Array(
            ("\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
                + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).").utf8)
    }
}
