import Tracing

/// Writes an OTLP `ExportTraceServiceRequest` in protobuf's binary encoding straight from ``FinishedSpan``s, with
/// no message objects in between. The field numbers are those of
/// `Protos/opentelemetry/proto/collector/trace/v1/trace_service.proto` (OTLP's own); the generated types decode it in
/// the tests.
///
/// A span is written in two passes of the same code: the first only counts, allowing each nested message's length
/// its widest varint (an upper bound of the size); the second writes through a pointer into that much room, each
/// length in one byte first and widened in place when the message needs more. No capacity check, no growth and no
/// uniqueness check per byte (appending to an array byte by byte was most of a span's cost).
struct OTLPEncoder {
    /// Where the bytes go; `nil` while counting.
    private let base: UnsafeMutablePointer<UInt8>?
    /// Bytes written (or counted) so far.
    private(set) var count = 0

    private init(base: UnsafeMutablePointer<UInt8>?) { self.base = base }

    /// Appends what `write` writes to `bytes`: counted first, then written in place.
    private static func append(to bytes: inout [UInt8], _ write: (inout OTLPEncoder) -> Void) {
        var counter = OTLPEncoder(base: nil)
        write(&counter)
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: counter.count))
        let written = bytes.withUnsafeMutableBufferPointer { buffer in
            var encoder = OTLPEncoder(base: buffer.baseAddress! + start)
            write(&encoder)
            return encoder.count
        }
        precondition(written <= counter.count, "OTLPEncoder wrote past its bound")
        bytes.removeLast(counter.count - written)
    }

    /// Appends `span` to `bytes` as one `ScopeSpans.spans` field: what ``requestPrefix(spansLength:resource:scope:)``
    /// goes in front of, once for a batch of them.
    static func append(_ span: FinishedSpan, to bytes: inout [UInt8]) {
        // The attributes set through the `Span` protocol are read once, before both passes: a `stringConvertible`
        // value's description could differ from one reading to the next, and the second pass must not outgrow the
        // first's count.
        let attributes = values(span.attributes)
        let eventAttributes = span.events.map { values($0.attributes) }
        append(to: &bytes) { encoder in
            encoder.message(2) { $0.span(span, attributes: attributes, eventAttributes: eventAttributes) }
        }
    }

    /// The request up to its spans, for `spansLength` bytes of ``append(_:to:)``'s fields after it.
    static func requestPrefix(spansLength: Int, resource: [(String, String)], scope: String) -> [UInt8] {
        var resourcePart: [UInt8] = []
        append(to: &resourcePart) { encoder in
            encoder.message(1) { attributes in  // ResourceSpans.resource
                for (key, value) in resource { attributes.keyValue(1, key, .string(value)) }
            }
        }
        var scopePart: [UInt8] = []
        append(to: &scopePart) { $0.message(1) { $0.string(1, scope) } }  // ScopeSpans.scope, its name
        let scopeSpansLength = scopePart.count + spansLength
        var prefix: [UInt8] = []
        append(to: &prefix) { encoder in
            encoder.tag(1, 2)  // ExportTraceServiceRequest.resource_spans
            encoder.appendVarint(
                UInt64(resourcePart.count + Self.lengthOfField(2, scopeSpansLength) + scopeSpansLength))
            encoder.raw(resourcePart)
            encoder.tag(2, 2)  // ResourceSpans.scope_spans
            encoder.appendVarint(UInt64(scopeSpansLength))
            encoder.raw(scopePart)
        }
        return prefix
    }

    /// The bytes of a length-delimited field's tag and length.
    private static func lengthOfField(_ field: Int, _ length: Int) -> Int {
        var counter = OTLPEncoder(base: nil)
        counter.tag(field, 2)
        counter.appendVarint(UInt64(length))
        return counter.count
    }

    /// The whole request for `spans` of one process (`resource`) and one instrumentation scope.
    static func request(_ spans: [FinishedSpan], resource: [(String, String)], scope: String) -> [UInt8] {
        let fields = encoded(spans)
        return requestPrefix(spansLength: fields.count, resource: resource, scope: scope) + fields
    }

    /// `spans` as ``append(_:to:)`` writes each, back to back.
    static func encoded(_ spans: [FinishedSpan]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(spans.count * 320)
        // By index: `for span in spans` would copy each span (retaining every field) to encode it.
        for index in spans.indices { append(spans[index], to: &bytes) }
        return bytes
    }

    /// `attributes` and `eventAttributes` are `span.attributes` and its events' attributes, read by ``values(_:)``.
    private mutating func span(
        _ span: FinishedSpan, attributes: [(String, Value)], eventAttributes: [[(String, Value)]]
    ) {
        bytes(1, span.context.traceID)
        fixed64Bytes(2, span.context.spanID)
        if let state = span.context.traceState { string(3, state) }
        if let parent = span.context.parentSpanID { fixed64Bytes(4, parent) }
        string(5, span.name)
        varint(6, UInt64(Self.kind(span.kind)))
        fixed64(7, span.start)
        fixed64(8, span.end)
        for (key, value) in attributes { keyValue(9, key, value) }
        let shadowed = !span.attributes.isEmpty
        for (key, attribute) in span.attributeList where !shadowed || span.attributes.get(key) == nil {
            keyValue(9, key, Self.value(attribute))
        }
        for (event, attributes) in zip(span.events, eventAttributes) {
            message(11) { encoded in
                encoded.fixed64(1, event.nanosecondsSinceEpoch)
                encoded.string(2, event.name)
                for (key, value) in attributes { encoded.keyValue(3, key, value) }
            }
        }
        for link in span.links {
            message(13) { encoded in
                encoded.bytes(1, link.traceID)
                encoded.fixed64Bytes(2, link.spanID)
                if let state = link.traceState { encoded.string(3, state) }
            }
        }
        if let status = span.status {
            message(15) { encoded in
                if let text = status.message { encoded.string(2, text) }
                encoded.varint(3, status.code == .ok ? 1 : 2)
            }
        }
        // Span.flags: bit 0 sampled, bit 8 "whether the parent is remote is known", bit 9 "it is".
        fixed32(16, 0x101 | (span.context.isRemote ? 0x200 : 0))
    }

    private static func kind(_ kind: SpanKind) -> Int {
        switch kind {
        case .internal: 1
        case .server: 2
        case .client: 3
        case .producer: 4
        case .consumer: 5
        }
    }

    // MARK: Values

    /// An attribute value as OTLP's `AnyValue` knows it.
    enum Value {
        case string(String)
        case bool(Bool)
        case int(Int64)
        case double(Double)
        case array([Value])
    }

    /// The attributes OTLP can carry, as values (none: no array is made).
    static func values(_ attributes: SpanAttributes) -> [(String, Value)] {
        guard !attributes.isEmpty else { return [] }
        var values: [(String, Value)] = []
        // SpanAttributes is not a Sequence: forEach is how it is walked.
        // swift-format-ignore: ReplaceForEachWithForLoop
        attributes.forEach { key, attribute in
            if let value = Self.value(attribute) { values.append((key, value)) }
        }
        return values
    }

    mutating func keyValue(_ field: Int, _ key: String, _ value: Value) {
        message(field) { pair in
            pair.string(1, key)
            pair.message(2) { $0.anyValue(value) }
        }
    }

    mutating func anyValue(_ value: Value) {
        switch value {
        case .string(let text): string(1, text, always: true)
        case .bool(let flag): varint(2, flag ? 1 : 0, always: true)
        case .int(let number): varint(3, UInt64(bitPattern: number), always: true)
        case .double(let number): fixed64(4, number.bitPattern, always: true)
        case .array(let values):
            message(5) { array in
                for element in values { array.message(1) { $0.anyValue(element) } }
            }
        }
    }

    static func value(_ attribute: AttributeValue) -> Value {
        switch attribute {
        case .string(let value): .string(value)
        case .int(let value): .int(value)
        case .double(let value): .double(value)
        case .bool(let value): .bool(value)
        }
    }

    static func value(_ attribute: SpanAttribute) -> Value? {
        switch attribute {
        case .int32(let value): .int(Int64(value))
        case .int64(let value): .int(value)
        case .double(let value): .double(value)
        case .bool(let value): .bool(value)
        case .string(let value): .string(value)
        case .stringConvertible(let value): .string(value.description)
        case .int32Array(let values): .array(values.map { .int(Int64($0)) })
        case .int64Array(let values): .array(values.map { .int($0) })
        case .doubleArray(let values): .array(values.map { .double($0) })
        case .boolArray(let values): .array(values.map { .bool($0) })
        case .stringArray(let values): .array(values.map { .string($0) })
        case .stringConvertibleArray(let values): .array(values.map { .string($0.description) })
        default: nil
        }
    }

    // MARK: Wire format

    @inline(__always)
    private mutating func byte(_ value: UInt8) {
        base?[count] = value
        count += 1
    }

    @inline(__always)
    private mutating func raw(_ source: UnsafeRawBufferPointer) {
        if let base, let start = source.baseAddress {
            UnsafeMutableRawPointer(base + count).copyMemory(from: start, byteCount: source.count)
        }
        count += source.count
    }

    @inline(__always)
    private mutating func raw(_ bytes: [UInt8]) { bytes.withUnsafeBytes { raw($0) } }

    /// `value`'s bytes, in memory order.
    @inline(__always)
    private mutating func raw<T: FixedWidthInteger>(integer value: T) {
        withUnsafeBytes(of: value) { raw($0) }
    }

    @inline(__always)
    mutating func tag(_ field: Int, _ wireType: UInt64) { appendVarint(UInt64(field) << 3 | wireType) }

    @inline(__always)
    mutating func appendVarint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            byte(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        byte(UInt8(value))
    }

    /// proto3 leaves default values out, except inside a `oneof` (`always`).
    @inline(__always)
    mutating func varint(_ field: Int, _ value: UInt64, always: Bool = false) {
        guard value != 0 || always else { return }
        tag(field, 0)
        appendVarint(value)
    }

    @inline(__always)
    mutating func fixed64(_ field: Int, _ value: UInt64, always: Bool = false) {
        guard value != 0 || always else { return }
        tag(field, 1)
        raw(integer: value.littleEndian)
    }

    @inline(__always)
    mutating func fixed32(_ field: Int, _ value: UInt32) {
        guard value != 0 else { return }
        tag(field, 5)
        raw(integer: value.littleEndian)
    }

    @inline(__always)
    mutating func string(_ field: Int, _ value: String, always: Bool = false) {
        guard !value.isEmpty || always else { return }
        tag(field, 2)
        var value = value
        value.withUTF8 { utf8 in
            appendVarint(UInt64(utf8.count))
            raw(UnsafeRawBufferPointer(utf8))
        }
    }

    /// A 16-byte trace id, big-endian.
    @inline(__always)
    mutating func bytes(_ field: Int, _ id: (high: UInt64, low: UInt64)) {
        tag(field, 2)
        byte(16)
        raw(integer: id.high.bigEndian)
        raw(integer: id.low.bigEndian)
    }

    /// An 8-byte span id, big-endian.
    @inline(__always)
    mutating func fixed64Bytes(_ field: Int, _ id: UInt64) {
        tag(field, 2)
        byte(8)
        raw(integer: id.bigEndian)
    }

    /// The widest length varint the counting pass allows a nested message (lengths below 2³⁵).
    private static let widestLength = 5

    /// A nested message: while counting, its length is taken at its widest; while writing, it is written in one
    /// byte first and widened afterwards if the body needs more (a span is usually 2 bytes' worth).
    mutating func message(_ field: Int, _ body: (inout OTLPEncoder) -> Void) {
        tag(field, 2)
        guard let base else {
            count += Self.widestLength
            body(&self)
            return
        }
        let lengthAt = count
        count += 1
        body(&self)
        let length = count - lengthAt - 1
        if length < 0x80 {
            base[lengthAt] = UInt8(length)
            return
        }
        var remaining = UInt64(length) >> 7
        var extra = 0
        while remaining > 0 {
            extra += 1
            remaining >>= 7
        }
        // The body moves up by `extra` bytes (within the room the counting pass allowed).
        UnsafeMutableRawPointer(base + lengthAt + 1 + extra).copyMemory(from: base + lengthAt + 1, byteCount: length)
        count += extra
        var value = UInt64(length)
        for index in lengthAt...(lengthAt + extra) {
            base[index] = UInt8(truncatingIfNeeded: value) | (index < lengthAt + extra ? 0x80 : 0)
            value >>= 7
        }
    }
}
