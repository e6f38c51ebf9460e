import BizEvents
import SwiftProtobuf

extension EventTimestamp {
    /// From a timestamp this platform wrote (a stored or already checked value).
    public init(_ timestamp: Google_Protobuf_Timestamp) {
        self.init(millisecondsSinceEpoch: timestamp.seconds * 1000 + Int64(timestamp.nanos / 1_000_000))
    }

    /// From a timestamp a caller sent: nil unless it lies within RFC 3339's years 0001–9999 with valid nanoseconds
    /// (the range protobuf's Timestamp allows), so a made-up value can neither overflow nor trap the formatter.
    public init?(checking timestamp: Google_Protobuf_Timestamp) {
        // 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
        guard (-62_135_596_800...253_402_300_799).contains(timestamp.seconds),
            (0..<1_000_000_000).contains(timestamp.nanos)
        else { return nil }
        self.init(timestamp)
    }
}

extension Google_Protobuf_Timestamp {
    public init(_ timestamp: EventTimestamp) {
        let millis = timestamp.millisecondsSinceEpoch
        let seconds = millis >= 0 ? millis / 1000 : (millis - 999) / 1000
        self.init(seconds: seconds, nanos: Int32((millis - seconds * 1000) * 1_000_000))
    }

    /// From a stored RFC 3339 text (the stores write it, so it is well-formed; otherwise the epoch).
    public init(rfc3339 text: String) {
        self.init(EventTimestamp(rfc3339: text) ?? EventTimestamp(millisecondsSinceEpoch: 0))
    }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    public var rfc3339: String { EventTimestamp(self).rfc3339 }
}
