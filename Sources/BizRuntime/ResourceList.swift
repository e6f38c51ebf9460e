import ServiceLifecycle
import Synchronization

/// The resources a process opened, in opening order; shared with the closures modules call while assembling.
final class ResourceList: Sendable {
    private let items = Mutex<[ClosingService]>([])

    func append(_ service: ClosingService) { items.withLock { $0.append(service) } }

    var all: [any Service] { items.withLock { $0 } }

    /// Closes everything opened so far, newest first: when assembling fails, nothing is left open (an SQLite
    /// connection dropped unclosed traps a debug build instead of letting it report the failure).
    func closeAll() async {
        for item in items.withLock({ $0 }).reversed() { await item.close() }
    }
}
