import BizServiceKit
import Logging
import ServiceLifecycle

/// Reads every secret of the process again every `BIZ_SECRETS_REFRESH_SECONDS`, from where it came (its variable,
/// its `_FILE`, AWS Secrets Manager), and hands each changed one to what registered for it
/// (``SecretRotationHooks``): the PostgreSQL pools take a rotated password for their new connections, the Identity
/// Provider accepts a service account's new secret beside the previous one, the services ask their tokens with it.
/// A secret nothing takes while running is logged as taking effect at the next start.
final class SecretRotation: Service {
    let hooks: SecretRotationHooks
    private let secrets: PlatformSecrets
    private let interval: Duration
    private let logger: Logger

    init(configuration: PlatformConfiguration, hooks: SecretRotationHooks, logger: Logger) {
        self.hooks = hooks
        var seed: [String: (Secret, SecretSource)] = [:]
        for (variable, secret) in configuration.secretValues {
            seed[variable] = (secret, configuration.secretSources[variable] ?? .environment(variable: variable))
        }
        self.secrets = PlatformSecrets(environment: configuration.secretEnvironment, seed: seed)
        self.interval = .seconds(configuration.secretsRefreshSeconds)
        self.logger = logger
    }

    func run() async throws {
        if interval > .zero {
            // What was last reported for each secret that could not be read, so that it is reported once.
            var failing: [String: String] = [:]
            while !Task.isCancelled, !Task.isShuttingDownGracefully {
                do {
                    try await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
                } catch {
                    break
                }
                failing = await refresh(reported: failing)
            }
        } else {
            try? await gracefulShutdown()
        }
        await secrets.shutdown()
    }

    /// One refresh; returns the failures now in force.
    func refresh(reported: [String: String] = [:]) async -> [String: String] {
        let found = await secrets.refresh()
        for (variable, reason) in found.failed where reported[variable] != reason {
            logger.warning(
                "a secret could not be read again; its last value stays in force",
                metadata: ["setting": "\(variable)", "reason": "\(reason)"])
        }
        for (variable, secret) in found.changed.sorted(by: { $0.key < $1.key }) {
            if await hooks.rotated(variable, to: secret) {
                logger.notice("secret rotated", metadata: ["setting": "\(variable)"])
            } else {
                logger.notice(
                    "secret rotated; it takes effect at the next start", metadata: ["setting": "\(variable)"])
            }
        }
        return found.failed
    }
}
