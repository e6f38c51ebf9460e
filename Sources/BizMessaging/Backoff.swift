import Logging
import ServiceLifecycle

/// Exponential backoff for transient failures: 50 ms doubling up to 5 s, until it succeeds, the task is cancelled, or
/// the process begins a graceful shutdown. A failure after the shutdown began is not retried: it is thrown as
/// ``Backoff/StoppedByShutdown``, so a loop that cannot make progress (a database that is down) never holds the
/// process past its stop. What it was doing is redone at the next start (delivery is at least once).
public enum Backoff {
    /// A failure that no retry can mend (a Kafka consumer fenced for good): thrown at once, to stop the process so
    /// that its supervisor starts it afresh.
    public protocol Unrecoverable: Error {}

    /// The operation failed and the process is shutting down, so it was not retried.
    public struct StoppedByShutdown: Error, CustomStringConvertible {
        public var operation: String
        public var underlying: any Error
        public var description: String { "stopped retrying to \(operation) at shutdown; the last error: \(underlying)" }
    }

    public static func retrying<T: Sendable>(
        logger: Logger, what: String, initial: Duration = .milliseconds(50), maximum: Duration = .seconds(5),
        _ body: () async throws -> T
    ) async throws -> T {
        var delay = initial
        var attempt = 1
        while true {
            do {
                return try await body()
            } catch {
                if Task.isCancelled { throw CancellationError() }
                if error is any Unrecoverable { throw error }
                if Task.isShuttingDownGracefully { throw StoppedByShutdown(operation: what, underlying: error) }
                logger.warning(
                    "retrying after a failure",
                    metadata: ["operation": "\(what)", "attempt": "\(attempt)", "error": "\(error)"]
                )
                // A shutdown ends the wait early for one last attempt.
                let wait = delay
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
                if Task.isCancelled { throw CancellationError() }
                delay = min(delay * 2, maximum)
                attempt += 1
            }
        }
    }
}
