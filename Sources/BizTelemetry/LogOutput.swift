import BizEvents
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

    /// Writes an ECS line encoded by the caller (``AccessLog``), as ``write(_:)`` would.
    func write(line json: [UInt8], level: Logger.Level) {
        standardError.write(json, urgent: level >= .warning)
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
///
/// A logging thread only appends, under a lock no `write` is made under: the buffer is taken whole (swapped with
/// the last write's emptied one) and written outside it, by one writer at a time, so batches leave in the order they
/// were taken. The flush thread does the writing; a request never waits on the file, whose `write`s slow down once
/// the kernel writes back the file's earlier pages (when the writes were made under the lock every logging thread
/// takes, the paired telemetry benchmark fell from about 88 to 75 % of telemetry off's throughput from then on). Only
/// past ``bufferLimit`` (the writer being that far behind) does a logging thread write itself, waiting for the
/// writer: memory stays bounded.
final class FileOutput: Sendable {
    static let flushInterval: Duration = .milliseconds(25)
    /// Written by the logging thread itself past this size (several intervals' lines of a busy gateway).
    static let bufferLimit = 4 << 20

    private struct Buffers {
        var lines: [UInt8] = []
        /// The last write's buffer, emptied, kept for its capacity.
        var spare: [UInt8] = []
    }
    private let buffers = Mutex(Buffers())
    /// Held while a batch is taken and written.
    private let writer: Mutex<Int32>

    init(descriptor: Int32) {
        writer = Mutex(descriptor)
        Self.register(self)
    }

    func write(_ bytes: [UInt8], urgent: Bool = true) {
        let size = buffers.withLock { buffers in
            buffers.lines.append(contentsOf: bytes)
            return buffers.lines.count
        }
        if urgent || size >= Self.bufferLimit { flush() }
    }

    /// Writes what is buffered (after any write in progress).
    func flush() {
        writer.withLock { descriptor in
            var batch = buffers.withLock { buffers in
                let batch = buffers.lines
                buffers.lines = buffers.spare
                buffers.spare = []
                return batch
            }
            guard !batch.isEmpty else { return }
            Self.write(batch, to: descriptor)
            batch.removeAll(keepingCapacity: true)
            buffers.withLock { $0.spare = batch }
        }
    }

    private static func write(_ bytes: [UInt8], to descriptor: Int32) {
        bytes.withUnsafeBytes { buffer in
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

/// An access line — the gateway's `request`, a server's `rpc` — at `info`, one per request or call, with the same
/// label keys on every line. Written straight to the process's ``LogOutput`` when the logger's handler is the
/// platform's ``ECSLogHandler`` writing ECS: what is the same on every line (level, message, service, logger, the
/// handler's metadata, the label keys in their order) is encoded once, here; each line adds its time, trace, duration
/// and label values. No `Logger.Metadata` dictionary, no task-local read for the trace (the caller passes its span).
/// The line is the one the handler would write for the same call; with another handler, or in the text format, it
/// goes through `logger` as usual.
public struct AccessLog: Sendable {
    private let logger: Logger
    private let message: String
    private let keys: [String]
    private let direct: Direct?

    /// What the direct path writes besides each line's own values.
    private final class Direct: Sendable {
        enum Label {
            /// `"key":"value"` of the handler's own metadata.
            case constant([UInt8])
            /// `"key":`, then the value of the line's field at `index`.
            case field([UInt8], index: Int)
        }
        let output: LogOutput
        /// `"log.level":"info"` to `"log.logger":"…"`, as ``LogRecord/ecs(service:instance:dataset:)`` writes them.
        let constant: [UInt8]
        /// In the handler's order (by key).
        let labels: [Label]

        init(output: LogOutput, constant: [UInt8], labels: [Label]) {
            self.output = output
            self.constant = constant
            self.labels = labels
        }
    }

    /// Every line of this log says `message` and has a value for each of `keys` (the platform's own, none sensitive
    /// nor one of those the handler maps to ECS fields, such as `error`).
    public init(logger: Logger, message: String, keys: [String]) {
        self.logger = logger
        self.message = message
        self.keys = keys
        guard let handler = logger.handler as? ECSLogHandler, handler.metadataProvider == nil,
            handler.output.format == .ecs
        else {
            direct = nil
            return
        }
        let output = handler.output
        var header = JSONLine()
        LogRecord.header(
            &header, level: .info, message: message, logger: handler.label, service: output.serviceName,
            instance: output.instanceID, dataset: output.dataset)
        // The handler's labels: its metadata and the call's fields, by key, the call's winning a shared key.
        var merged: [(key: String, value: String?, index: Int)] = handler.metadata.compactMap { key, value in
            keys.contains(key) ? nil : (key, Redaction.value(value.description, key: key), 0)
        }
        for (index, key) in keys.enumerated() { merged.append((key, nil, index)) }
        merged.sort { $0.key < $1.key }
        direct = Direct(
            output: output, constant: header.fragment,
            labels: merged.map { label in
                if let value = label.value { return .constant(JSONLine.member(label.key, value)) }
                return .field(JSONLine.member(label.key, nil), index: label.index)
            })
    }

    /// The logger writes `info` lines.
    public var isEnabled: Bool { logger.logLevel <= .info }

    /// Writes a line with `values` (one per key, in the keys' order; scrubbed all the same), the duration, and the
    /// span the line belongs to.
    public func info(_ values: [String], duration: Duration, span: SpanContext?) {
        guard isEnabled else { return }
        guard let direct else {
            var metadata = Logger.Metadata()
            for (key, value) in zip(keys, values) { metadata[key] = .string(value) }
            metadata["duration_ms"] = "\(duration.milliseconds)"
            logger.info("\(message)", metadata: metadata)
            return
        }
        var json = JSONLine()
        json.timestamp("@timestamp", .now)
        json.append(fragment: direct.constant)
        if let span { json.trace(span) }
        json.number("event.duration", Int(duration.nanoseconds))
        if !direct.labels.isEmpty {
            json.object("labels") { labels in
                for (position, label) in direct.labels.enumerated() {
                    if position > 0 { labels.append(byte: UInt8(ascii: ",")) }
                    switch label {
                    case .constant(let bytes): labels.append(raw: bytes)
                    case .field(let key, let index):
                        labels.append(raw: key)
                        labels.append(string: index < values.count ? Redaction.scrub(values[index]) : "")
                    }
                }
            }
        }
        direct.output.write(line: json.finish(), level: .info)
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
            if let span = SpanContext.current { return .span(span) }
            return ServiceContext.current.flatMap(TraceContext.init(of:)).map(Trace.hex)
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
        Self.header(
            &json, level: level, message: message, logger: logger, service: service, instance: instance,
            dataset: dataset)
        switch trace {
        case .span(let span):
            json.trace(span)
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

    /// The fields after the timestamp, in their order.
    static func header(
        _ json: inout JSONLine, level: Logger.Level, message: String, logger: String, service: String,
        instance: String, dataset: String
    ) {
        json.field("log.level", level.rawValue)
        json.field("message", message)
        json.field("ecs.version", ecsVersion)
        json.field("service.name", service)
        json.field("service.instance.id", instance)
        json.field("event.dataset", dataset)
        json.field("log.logger", logger)
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
    private var bytes: [UInt8]

    init() {
        // One allocation: an array literal then `reserveCapacity` would make two.
        bytes = []
        bytes.reserveCapacity(512)
        bytes.append(UInt8(ascii: "{"))
    }

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

    /// `"trace.id":"<32 hex>","span.id":"<16 hex>"`.
    mutating func trace(_ span: SpanContext) {
        hex("trace.id", span.traceID.high, span.traceID.low)
        hex("span.id", span.spanID)
    }

    /// The fields written so far, without the opening brace: a ``fragment`` to append to other lines.
    var fragment: [UInt8] { Array(bytes.dropFirst()) }

    /// Appends the fields of another line's ``fragment``.
    mutating func append(fragment: [UInt8]) {
        guard !fragment.isEmpty else { return }
        if bytes.count > 1 { bytes.append(UInt8(ascii: ",")) }
        bytes.append(contentsOf: fragment)
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

    /// An object's member `"key":"value"` (`"key":` alone without a value); ECS labels are flat keywords, so dots
    /// in keys become underscores.
    mutating func member(_ key: String, _ value: String?) {
        append(string: key, dotsAsUnderscores: true)
        bytes.append(UInt8(ascii: ":"))
        if let value { append(string: value) }
    }

    /// ``member(_:_:)``'s bytes, to append to lines later.
    static func member(_ key: String, _ value: String?) -> [UInt8] {
        var json = JSONLine()
        json.member(key, value)
        return json.fragment
    }

    /// `"name":{…}`, its members written by `body`.
    mutating func object(_ name: String, _ body: (inout JSONLine) -> Void) {
        key(name)
        bytes.append(UInt8(ascii: "{"))
        body(&self)
        bytes.append(UInt8(ascii: "}"))
    }

    /// An object of string values (``member(_:_:)``s), left out when there are none.
    mutating func object(_ name: String, _ fields: [(String, String)]) {
        guard !fields.isEmpty else { return }
        object(name) { json in
            for (index, (key, value)) in fields.enumerated() {
                if index > 0 { json.append(byte: UInt8(ascii: ",")) }
                json.member(key, value)
            }
        }
    }

    mutating func append(raw: [UInt8]) { bytes.append(contentsOf: raw) }

    mutating func append(byte: UInt8) { bytes.append(byte) }

    mutating func finish() -> [UInt8] {
        bytes.append(UInt8(ascii: "}"))
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }

    /// A JSON string: copied whole when nothing in it needs escaping (almost always), else byte by byte.
    mutating func append(string: String, dotsAsUnderscores: Bool = false) {
        bytes.append(UInt8(ascii: "\""))
        var string = string
        string.withUTF8 { utf8 in
            // Scanned over the contiguous bytes: `String.UTF8View`'s iterator costs several times more per byte.
            var plain = true
            for byte in utf8
            where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
                || (dotsAsUnderscores && byte == UInt8(ascii: "."))
            {
                plain = false
                break
            }
            if plain {
                bytes.append(contentsOf: utf8)
            } else {
                appendEscaped(utf8, dotsAsUnderscores: dotsAsUnderscores)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private mutating func appendEscaped(_ utf8: UnsafeBufferPointer<UInt8>, dotsAsUnderscores: Bool) {
        for byte in utf8 {
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

    var iso8601: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        appendISO8601(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `2026-11-30T12:34:56.789Z`: ``EventTimestamp``'s arithmetic, with no lock and no `gmtime_r`. Every line of
    /// every request writes one, on whichever core it runs (a formatted second cached under one lock was a word
    /// shared by all of them).
    func appendISO8601(to bytes: inout [UInt8]) {
        EventTimestamp(millisecondsSinceEpoch: Int64(seconds) * 1_000 + Int64(milliseconds)).appendRFC3339(to: &bytes)
    }
}
