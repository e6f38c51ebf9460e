import Logging

/// Exponential backoff for transient failures: 50 ms doubling up to 5 s, until it succeeds or the task is cancelled.
public enum Backoff {
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
                logger.warning(
                    "retrying after a failure",
                    metadata: ["operation": "\(what)", "attempt": "\(attempt)", "error": "\(error)"]
                )
                try await Task.sleep(for: delay)
                delay = min(delay * 2, maximum)
                attempt += 1
            }
        }
    }
}
