import Synchronization

/// The durable bus as a ``MessageSource``: reads after the consumer's committed offset, commits offsets in the bus's
/// database.
public final class BusSource: MessageSource {
    public let bus: DurableBus
    /// The consumer's name and the offset of the last message returned.
    private let state = Mutex<(consumer: String, cursor: Int64)>(("", 0))

    public init(bus: DurableBus) { self.bus = bus }

    public func start(consumer: String) async throws -> String {
        let offset = try await bus.committedOffset(of: consumer)
        state.withLock { $0 = (consumer, offset) }
        return "offset \(offset)"
    }

    public func next(maximum: Int) async throws -> (messages: [DeliveredMessage], receipt: Int64)? {
        let seen = bus.signal.generation
        let cursor = state.withLock { $0.cursor }
        let messages = try await bus.fetch(after: cursor, limit: maximum)
        guard let last = messages.last else {
            await bus.signal.wait(after: seen, timeout: .seconds(1))
            return nil
        }
        state.withLock { $0.cursor = last.offset }
        return (messages, last.offset)
    }

    public func commit(_ offset: Int64) async throws {
        try await bus.commit(offset: offset, of: state.withLock { $0.consumer })
    }

    public func lag(after offset: Int64) async -> [(partition: String, messages: Int64)] {
        guard let end = try? await bus.count() else { return [] }
        return [("0", max(0, end - offset))]
    }

    public func wake() { bus.signal.signal() }

    public func close() async {}
}
