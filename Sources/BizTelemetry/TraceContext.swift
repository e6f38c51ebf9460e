import Synchronization

/// W3C trace context (`traceparent: 00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`).
public struct TraceContext: Sendable, Hashable {
    public var traceID: String
    public var spanID: String
    public var flags: String

    public init(traceID: String, spanID: String, flags: String = "01") {
        self.traceID = traceID
        self.spanID = spanID
        self.flags = flags
    }

    /// A new trace with a random id.
    public static func random() -> TraceContext {
        TraceContext(traceID: randomHex(bytes: 16), spanID: randomHex(bytes: 8))
    }

    /// Parses a `traceparent` header; `nil` when malformed (then a new trace starts). Works on the UTF-8 bytes: it
    /// runs for every request and every call.
    public init?(traceparent: String) {
        var text = traceparent
        let parsed: (String, String, String)? = text.withUTF8 { bytes in
            // 00-<32 hex>-<16 hex>-<2 hex>
            guard bytes.count == 55, bytes[0] == UInt8(ascii: "0"), bytes[1] == UInt8(ascii: "0"),
                bytes[2] == UInt8(ascii: "-"), bytes[35] == UInt8(ascii: "-"), bytes[52] == UInt8(ascii: "-")
            else { return nil }
            func hex(_ range: Range<Int>) -> String? {
                var lowered = [UInt8]()
                lowered.reserveCapacity(range.count)
                var allZero = true
                for index in range {
                    var byte = bytes[index]
                    switch byte {
                    case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"): break
                    case UInt8(ascii: "A")...UInt8(ascii: "F"): byte += 32
                    default: return nil
                    }
                    if byte != UInt8(ascii: "0") { allZero = false }
                    lowered.append(byte)
                }
                return allZero && range.count > 2 ? nil : String(decoding: lowered, as: UTF8.self)
            }
            guard let traceID = hex(3..<35), let spanID = hex(36..<52), let flags = hex(53..<55) else { return nil }
            return (traceID, spanID, flags)
        }
        guard let (traceID, spanID, flags) = parsed else { return nil }
        self.init(traceID: traceID, spanID: spanID, flags: flags)
    }

    /// A child span in the same trace.
    public func child() -> TraceContext {
        TraceContext(traceID: traceID, spanID: Self.randomHex(bytes: 8), flags: flags)
    }

    public var traceparent: String { "00-\(traceID)-\(spanID)-\(flags)" }

    static func randomHex(bytes: Int) -> String {
        let hex: StaticString = "0123456789abcdef"
        let digits = hex.utf8Start
        var output = [UInt8](repeating: 0, count: bytes * 2)
        var index = 0
        while index < bytes {
            var word = IdentifierGenerator.next()
            for _ in 0..<min(8, bytes - index) {
                output[index * 2] = digits[Int((word >> 4) & 0xF)]
                output[index * 2 + 1] = digits[Int(word & 0xF)]
                word >>= 8
                index += 1
            }
        }
        return String(decoding: output, as: UTF8.self)
    }
}

/// Random 64-bit words for trace and span ids: SplitMix64 over a counter seeded once from the system generator.
/// Ids must be unique, not secret: a system call per id showed up as 9 % of a request's CPU, and each id is one atomic
/// add here (a lock's acquire and release before), the counter's word being shared by every request on every core.
/// The mix is a bijection, so a process repeats no id before 2^64 of them; two processes' sequences overlap only if
/// their random seeds fall within as many steps of each other as they draw ids.
enum IdentifierGenerator {
    private static let counter = Atomic<UInt64>(
        {
            var system = SystemRandomNumberGenerator()
            return system.next()
        }())

    static func next() -> UInt64 {
        var z = counter.wrappingAdd(0x9E37_79B9_7F4A_7C15, ordering: .relaxed).newValue
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
