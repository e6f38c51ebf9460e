import BizEvents

/// What one ingestion did.
public struct IngestReport: Sendable, Hashable {
    public var stored: Int
    /// Events already stored (redeliveries), which changed nothing.
    public var duplicates: Int

    public init(stored: Int = 0, duplicates: Int = 0) {
        self.stored = stored
        self.duplicates = duplicates
    }
}
