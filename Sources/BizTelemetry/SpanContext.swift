import ServiceContextModule

/// The identity of a span as the platform's tracer keeps it in a task's `ServiceContext`: binary ids (formatted as
/// hex only where a header, a log line or an export needs them), the sampling decision, and the caller's
/// `tracestate`, passed on untouched.
public struct SpanContext: Sendable, Hashable {
    /// 16 bytes, as two big-endian halves.
    public var traceID: (high: UInt64, low: UInt64)
    public var spanID: UInt64
    /// The span this one is a child of; `nil` for a root span or one continued from another process.
    public var parentSpanID: UInt64?
    public var sampled: Bool
    /// Extracted from a `traceparent` written elsewhere (another process, an outbox row, a Kafka header).
    public var isRemote: Bool
    public var traceState: String?

    public init(
        traceID: (high: UInt64, low: UInt64), spanID: UInt64, parentSpanID: UInt64? = nil, sampled: Bool = true,
        isRemote: Bool = false, traceState: String? = nil
    ) {
        self.traceID = traceID
        self.spanID = spanID
        self.parentSpanID = parentSpanID
        self.sampled = sampled
        self.isRemote = isRemote
        self.traceState = traceState
    }

    public static func == (lhs: SpanContext, rhs: SpanContext) -> Bool {
        lhs.traceID == rhs.traceID && lhs.spanID == rhs.spanID && lhs.parentSpanID == rhs.parentSpanID
            && lhs.sampled == rhs.sampled && lhs.isRemote == rhs.isRemote && lhs.traceState == rhs.traceState
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(traceID.high)
        hasher.combine(traceID.low)
        hasher.combine(spanID)
    }

    /// A random trace id (never all zeros).
    static func randomTraceID() -> (high: UInt64, low: UInt64) {
        let high = IdentifierGenerator.next()
        let low = IdentifierGenerator.next()
        return (high, low == 0 && high == 0 ? 1 : low)
    }

    /// A random span id (never zero).
    static func randomSpanID() -> UInt64 {
        let id = IdentifierGenerator.next()
        return id == 0 ? 1 : id
    }

    /// Parses a W3C `traceparent`; `nil` when malformed or all-zero ids.
    public init?(traceparent: String, traceState: String? = nil) {
        var text = traceparent
        let parsed: (UInt64, UInt64, UInt64, UInt8)? = text.withUTF8 { bytes in
            // 00-<32 hex>-<16 hex>-<2 hex>; a later version may append fields after a dash.
            guard bytes.count >= 55, bytes[2] == UInt8(ascii: "-"), bytes[35] == UInt8(ascii: "-"),
                bytes[52] == UInt8(ascii: "-"), let version = Self.hex(bytes, 0..<2), version != 0xFF
            else { return nil }
            if version == 0 ? bytes.count != 55 : bytes.count > 55 && bytes[55] != UInt8(ascii: "-") { return nil }
            guard let high = Self.hex(bytes, 3..<19), let low = Self.hex(bytes, 19..<35),
                let span = Self.hex(bytes, 36..<52), let flags = Self.hex(bytes, 53..<55)
            else { return nil }
            guard high != 0 || low != 0, span != 0 else { return nil }
            return (high, low, span, UInt8(flags))
        }
        guard let (high, low, span, flags) = parsed else { return nil }
        self.init(
            traceID: (high, low), spanID: span, sampled: flags & 1 == 1, isRemote: true,
            traceState: traceState.flatMap { $0.isEmpty ? nil : $0 })
    }

    /// Hex digits of either case (senders should write lowercase; a value is not refused for its case).
    private static func hex(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> UInt64? {
        var value: UInt64 = 0
        for index in range {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt64(digit)
        }
        return value
    }

    /// `00-<trace id>-<span id>-<flags>`.
    public var traceparent: String {
        // Written straight into the string's storage: one allocation, not an array's and then the string's.
        String(unsafeUninitializedCapacity: 55) { buffer in
            buffer[0] = UInt8(ascii: "0")
            buffer[1] = UInt8(ascii: "0")
            buffer[2] = UInt8(ascii: "-")
            Self.writeHex(traceID.high, into: buffer, at: 3)
            Self.writeHex(traceID.low, into: buffer, at: 19)
            buffer[35] = UInt8(ascii: "-")
            Self.writeHex(spanID, into: buffer, at: 36)
            buffer[52] = UInt8(ascii: "-")
            buffer[53] = UInt8(ascii: "0")
            buffer[54] = sampled ? UInt8(ascii: "1") : UInt8(ascii: "0")
            return 55
        }
    }

    /// The trace id as 32 lowercase hex digits.
    public var traceIDHex: String {
        String(unsafeUninitializedCapacity: 32) { buffer in
            Self.writeHex(traceID.high, into: buffer, at: 0)
            Self.writeHex(traceID.low, into: buffer, at: 16)
            return 32
        }
    }

    /// The span id as 16 lowercase hex digits.
    public var spanIDHex: String {
        String(unsafeUninitializedCapacity: 16) { buffer in
            Self.writeHex(spanID, into: buffer, at: 0)
            return 16
        }
    }

    private static let hexDigits: StaticString = "0123456789abcdef"

    /// `value` as 16 lowercase hex digits at `buffer[start..<start + 16]`.
    private static func writeHex(_ value: UInt64, into buffer: UnsafeMutableBufferPointer<UInt8>, at start: Int) {
        let digits = hexDigits.utf8Start
        for position in 0..<16 {
            buffer[start + position] = digits[Int((value >> UInt64(60 - 4 * position)) & 0xF)]
        }
    }

    /// `value` as 16 lowercase hex digits after `bytes`' last.
    static func appendHex(_ value: UInt64, to bytes: inout [UInt8]) {
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: 16))
        bytes.withUnsafeMutableBufferPointer { writeHex(value, into: $0, at: start) }
    }

    /// The 16 bytes of the trace id, big-endian (OTLP's encoding).
    var traceIDBytes: [UInt8] { Self.bigEndianBytes(traceID.high) + Self.bigEndianBytes(traceID.low) }

    static func bigEndianBytes(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * UInt64($0))) }
    }
}

extension SpanContext {
    /// The task's active span: the one its `ServiceContext` carries (a span of swift-distributed-tracing's
    /// `withSpan`, or one bound while such a span was active), else the one ``RecordingSpan/withContext(of:_:)``
    /// bound alone.
    public static var current: SpanContext? {
        if let span = ServiceContext.current?.spanContext { return span }
        return bound
    }

    /// A span bound on its own, without a `ServiceContext`: what ``RecordingSpan/withContext(of:_:)`` binds when
    /// the task's context carries no span (a request's, a call's), so it neither copies the context's storage nor
    /// boxes the span into it. A span the `ServiceContext` carries is always the innermost one (a span started inside
    /// it binds the context again), so it wins over this one.
    @TaskLocal static var bound: SpanContext?
}

extension ServiceContext {
    /// The active span of the platform's tracer, if any.
    public var spanContext: SpanContext? {
        get { self[SpanContextKey.self] }
        set { self[SpanContextKey.self] = newValue }
    }
}

private enum SpanContextKey: ServiceContextKey {
    typealias Value = SpanContext
    static var nameOverride: String? { "span-context" }
}
