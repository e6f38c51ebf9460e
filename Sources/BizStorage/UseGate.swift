import Synchronization

/// Counts a resource's users so it closes only when the last one is done: ``enter()`` refuses once closing began,
/// ``close()`` waits for those already in. A SQLite connection closed while another thread still runs a statement on
/// it is a use after free, not an error.
final class UseGate: Sendable {
    private struct State {
        var users = 0
        var closing = false
        var closers: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    /// Whether the caller may use the resource (and must call ``leave()`` after); `false` once it is closing.
    func enter() -> Bool {
        state.withLock { state in
            guard !state.closing else { return false }
            state.users += 1
            return true
        }
    }

    func leave() {
        let closers = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.users -= 1
            guard state.users == 0 else { return [] }
            defer { state.closers = [] }
            return state.closers
        }
        for closer in closers { closer.resume() }
    }

    /// Refuses new users and returns when the last one left: `true` to the first caller, who closes the resource.
    func close() async -> Bool {
        let first = state.withLock { state in
            defer { state.closing = true }
            return !state.closing
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let drained = state.withLock { state -> Bool in
                guard state.users > 0 else { return true }
                state.closers.append(continuation)
                return false
            }
            if drained { continuation.resume() }
        }
        return first
    }

    /// Runs `body` as a user; throws `closed` without running it once the resource is closing.
    func using<T>(orThrow closed: @autoclosure () -> any Error, _ body: () async throws -> T) async throws -> T {
        guard enter() else { throw closed() }
        defer { leave() }
        return try await body()
    }
}
