import ServiceLifecycle
import Synchronization

/// The resources a process opened, in opening order; shared with the closures modules call while assembling.
final class ResourceList: Sendable {
    private let items = Mutex<[any Service]>([])

    func append(_ service: any Service) { items.withLock { $0.append(service) } }

    var all: [any Service] { items.withLock { $0 } }
}
