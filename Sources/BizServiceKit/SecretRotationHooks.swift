import Synchronization

/// Where a process's rotated secrets go: each part that can take a new value while running (a database pool, a
/// service account) registers for its variable; the runtime reads the secrets again on an interval and hands each
/// changed one to what registered for it.
public final class SecretRotationHooks: Sendable {
    public typealias Handler = @Sendable (Secret) async -> Void
    private let handlers = Mutex<[String: [Handler]]>([:])

    public init() {}

    /// Runs `handler` with the new value whenever the secret `variable` rotates.
    public func on(_ variable: String, _ handler: @escaping Handler) {
        handlers.withLock { $0[variable, default: []].append(handler) }
    }

    /// Hands the rotated secret to what registered for `variable`, in registration order; false when nothing did
    /// (it then takes effect at the next start).
    public func rotated(_ variable: String, to secret: Secret) async -> Bool {
        let registered = handlers.withLock { $0[variable] ?? [] }
        for handler in registered { await handler(secret) }
        return !registered.isEmpty
    }
}
