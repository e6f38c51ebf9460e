import BizEvents
import SwiftProtobuf

extension EventTimestamp {
    public init(_ timestamp: Google_Protobuf_Timestamp) {
        self.init(millisecondsSinceEpoch: timestamp.seconds * 1000 + Int64(timestamp.nanos / 1_000_000))
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
