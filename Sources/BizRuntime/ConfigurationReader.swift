import BizAuth
import BizEvents
import BizFlags
import BizMail
import BizServiceKit
import Configuration
import Foundation
import Logging
import NotificationsService
import SystemPackage

/// Reads the ``PlatformConfiguration`` once at start, from (highest priority first) the command line's options, the
/// environment (`BIZ_*`, and AWS's standard variables) and an optional JSON file (`--config-file` or
/// `BIZ_CONFIG_FILE`, with the same keys nested: `{"kafka": {"brokers": "…"}}`). The only place that reads the
/// environment.
public struct ConfigurationReader: Sendable {
    /// Values given on the command line, by configuration key (`grpc.port`).
    public var commandLine: [String: String]
    public var environment: [String: String]

    public init(commandLine: [String: String] = [:], environment: [String: String]) {
        self.commandLine = commandLine
        self.environment = environment
    }

    /// The process's own environment.
    public static var processEnvironment: [String: String] { ProcessInfo.processInfo.environment }

    public func read() async throws -> PlatformConfiguration {
        var providers: [any ConfigProvider] = [
            InMemoryProvider(
                name: "command line",
                values: Dictionary(
                    uniqueKeysWithValues: commandLine.map {
                        (AbsoluteConfigKey(ConfigKey($0.key)), ConfigValue(.string($0.value), isSecret: false))
                    })),
            EnvironmentVariablesProvider(environmentVariables: environment.filter { !$0.value.isEmpty })
                .prefixKeys(with: "biz"),
        ]
        let file = commandLine["config_file"] ?? environment["BIZ_CONFIG_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        let variables = Self.secretVariables(environment)
        if let file {
            let provider: FileProvider<JSONSnapshot>
            do {
                provider = try await FileProvider<JSONSnapshot>(filePath: FilePath(file))
            } catch {
                throw RuntimeError("cannot read the configuration file \(file): \(error)")
            }
            let fileOnly = ConfigReader(provider: provider)
            for variable in variables where variable.hasPrefix("BIZ_") {
                let key = ConfigKey(variable.dropFirst(4).lowercased().replacingOccurrences(of: "_", with: "."))
                if fileOnly.string(forKey: key, isSecret: true) != nil {
                    throw RuntimeError(
                        "the configuration file \(file) holds \(key), a secret: give it as \(variable), "
                            + "\(variable)_FILE or a secretsmanager:// reference in either")
                }
            }
            providers.append(provider)
        }
        let secrets = PlatformSecrets(environment: environment)
        var resolved: [String: (Secret, SecretSource)] = [:]
        do {
            for variable in variables { resolved[variable] = try await secrets.secret(variable) }
            await secrets.shutdown()
        } catch {
            await secrets.shutdown()
            throw (error as? SecretError).map { RuntimeError($0.description) } ?? error
        }
        var result = try Self.configuration(
            from: ConfigReader(providers: providers), environment: environment, secrets: resolved.mapValues(\.0))
        result.secretSources = resolved.mapValues(\.1)
        result.secretValues = resolved.mapValues(\.0)
        result.secretEnvironment = environment.filter { name, _ in
            name.hasPrefix("AWS_") || variables.contains { name == $0 || name == $0 + "_FILE" }
        }
        return result
    }

    /// The variables that hold secrets: read only through the ``SecretProvider`` (the variable, its `_FILE`, or a
    /// `secretsmanager://` reference in either).
    static func secretVariables(_ environment: [String: String]) -> [String] {
        var variables = [
            "BIZ_MASTER_KEY", "BIZ_DATABASE_URL", "BIZ_ELASTICSEARCH_URL", "BIZ_BOOTSTRAP_ADMIN_PASSWORD",
            "BIZ_BOOTSTRAP_CLIENT_SECRET", "BIZ_OPERATOR_CLIENT_SECRET", "BIZ_AUDIT_STORE", "BIZ_SMTP_URL",
        ]
        variables += ServiceRegistry.servable.map { ServiceRegistry.variable($0, "CLIENT_SECRET") }
        variables += ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"]
        let kafka = Set(
            environment.keys.filter { $0.hasPrefix(kafkaPropertyPrefix) }.map {
                $0.hasSuffix("_FILE") ? String($0.dropLast(5)) : $0
            })
        return variables + kafka.sorted()
    }

    static let kafkaPropertyPrefix = "BIZ_KAFKA_PROPERTY_"

    static func configuration(
        from config: ConfigReader, environment: [String: String], secrets: [String: Secret] = [:]
    ) throws -> PlatformConfiguration {
        var result = PlatformConfiguration()
        func text(_ key: ConfigKey) -> String? { config.string(forKey: key).flatMap { $0.isEmpty ? nil : $0 } }
        func secret(_ variable: String) -> Secret? { secrets[variable] }
        func integer(_ key: ConfigKey, _ name: String, default value: Int, in range: ClosedRange<Int>) throws -> Int {
            guard let given = text(key) else { return value }
            guard let number = Int(given), range.contains(number) else {
                throw RuntimeError("\(name) must be a whole number between \(range.lowerBound) and \(range.upperBound)")
            }
            return number
        }
        result.dataDirectory = text("data.dir") ?? result.dataDirectory
        result.grpcHost = text("grpc.host") ?? result.grpcHost
        result.grpcPort = try integer(
            "grpc.port", "BIZ_GRPC_PORT (--grpc-port)", default: result.grpcPort, in: 0...65535)
        result.httpsHost = text("https.host") ?? result.httpsHost
        result.httpsPort = try integer(
            "https.port", "BIZ_HTTPS_PORT (--https-port)", default: result.httpsPort, in: 0...65535)
        result.logLevel = text("log.level") ?? result.logLevel
        guard Logger.Level(rawValue: result.logLevel) != nil else {
            throw RuntimeError(
                "BIZ_LOG_LEVEL (--log-level) must be one of trace, debug, info, notice, warning, error, critical")
        }
        result.telemetry.logFormat = text("log.format")
        if let format = result.telemetry.logFormat, !["ecs", "text"].contains(format) {
            throw RuntimeError("BIZ_LOG_FORMAT (--log-format) must be ecs or text")
        }
        result.telemetry.metricsPort = try integer(
            "metrics.port", "BIZ_METRICS_PORT (--metrics-port)", default: result.telemetry.metricsPort, in: 0...65535)
        result.telemetry.elasticsearchURL = secret("BIZ_ELASTICSEARCH_URL")
        result.telemetry.elasticsearchNamespace =
            text("elasticsearch.namespace") ?? result.telemetry.elasticsearchNamespace
        guard
            result.telemetry.elasticsearchNamespace.utf8.allSatisfy({
                ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "_")
            }), result.telemetry.elasticsearchNamespace.utf8.count <= 100
        else {
            throw RuntimeError(
                "BIZ_ELASTICSEARCH_NAMESPACE must be lowercase letters, digits and underscores (at most 100)")
        }
        result.environmentName = text("environment") ?? result.environmentName
        result.issuer = text("issuer")
        if let issuers = text("external.issuers") {
            do {
                result.externalIssuers = try ExternalIssuer.parse(issuers)
            } catch {
                throw RuntimeError(error.description)
            }
        }
        result.masterKey = secret("BIZ_MASTER_KEY")
        result.instanceID = text("instance.id")
        if let instance = result.instanceID, !EventID.isUUID(instance) {
            throw RuntimeError("BIZ_INSTANCE_ID must be a UUID (it becomes producer_service_id)")
        }
        result.databaseURL = secret("BIZ_DATABASE_URL")
        switch (text("grpc.tls.cert"), text("grpc.tls.key"), text("grpc.tls.ca")) {
        case (nil, nil, nil): break
        case (let certificate?, let key?, let ca?):
            result.grpcTLS = .init(certificate: certificate, privateKey: key, certificateAuthority: ca)
        default:
            throw RuntimeError(
                "BIZ_GRPC_TLS_CERT, BIZ_GRPC_TLS_KEY and BIZ_GRPC_TLS_CA must be set together (biz-retail certs)")
        }
        switch text("grpc.plaintext") {
        case nil, "false", "0": result.grpcPlaintext = false
        case "true", "1": result.grpcPlaintext = true
        default: throw RuntimeError("BIZ_GRPC_PLAINTEXT must be true or false")
        }
        for service in ServiceRegistry.servable {
            result.serviceClientSecrets[service] = secret(ServiceRegistry.variable(service, "CLIENT_SECRET"))
        }
        for module in ServiceRegistry.modules {
            let name = module.name.replacingOccurrences(of: "-", with: "_")
            guard let given = text(ConfigKey([name, "address"])) else { continue }
            guard let address = ServiceAddress(given) else {
                throw RuntimeError("\(ServiceRegistry.variable(module.name, "ADDRESS")) must be host:port")
            }
            result.addresses[module.name] = address
        }

        result.kafka.brokers = text("kafka.brokers")
        result.kafka.partitions = try integer(
            "kafka.partitions", "BIZ_KAFKA_PARTITIONS", default: result.kafka.partitions, in: 1...10_000)
        result.kafka.replicationFactor = try integer(
            "kafka.replication.factor", "BIZ_KAFKA_REPLICATION_FACTOR", default: result.kafka.replicationFactor,
            in: 1...100)
        result.kafka.topicPrefix = text("kafka.topic.prefix") ?? ""
        for (name, value) in secrets where name.hasPrefix(kafkaPropertyPrefix) {
            let key = String(name.dropFirst(kafkaPropertyPrefix.count).lowercased().map { $0 == "_" ? "." : $0 })
            result.kafka.properties[key] = value
        }

        result.gateway.tlsCertificate = text("tls.cert")
        result.gateway.tlsPrivateKey = text("tls.key")
        result.gateway.trustedProxies = Set(
            (text("trusted.proxies") ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty })
        result.gateway.handshakeTimeout = try integer(
            "gateway.handshake.timeout", "BIZ_GATEWAY_HANDSHAKE_TIMEOUT", default: result.gateway.handshakeTimeout,
            in: 1...600)
        result.gateway.idleTimeout = try integer(
            "gateway.idle.timeout", "BIZ_GATEWAY_IDLE_TIMEOUT", default: result.gateway.idleTimeout, in: 1...86_400)
        result.gateway.maximumConnections = try integer(
            "gateway.max.connections", "BIZ_GATEWAY_MAX_CONNECTIONS", default: result.gateway.maximumConnections,
            in: 1...1_000_000)

        result.identity.bcryptCost = try integer(
            "bcrypt.cost", "BIZ_BCRYPT_COST", default: result.identity.bcryptCost, in: 4...31)
        result.identity.bootstrapAdminEmail = text("bootstrap.admin.email")
        result.identity.bootstrapAdminPassword = secret("BIZ_BOOTSTRAP_ADMIN_PASSWORD")
        result.identity.bootstrapClientID = text("bootstrap.client.id")
        result.identity.bootstrapClientSecret = secret("BIZ_BOOTSTRAP_CLIENT_SECRET")
        result.identity.operatorClientSecret = secret("BIZ_OPERATOR_CLIENT_SECRET")
        result.identity.loginDelayAfter = try integer(
            "login.delay.after", "BIZ_LOGIN_DELAY_AFTER", default: result.identity.loginDelayAfter, in: 1...1_000_000)
        result.identity.loginLockoutAfter = try integer(
            "login.lockout.after", "BIZ_LOGIN_LOCKOUT_AFTER", default: result.identity.loginLockoutAfter,
            in: 1...1_000_000)
        result.identity.loginLockoutSeconds = try integer(
            "login.lockout.seconds", "BIZ_LOGIN_LOCKOUT_SECONDS", default: result.identity.loginLockoutSeconds,
            in: 1...31_536_000)
        result.identity.signingKeyRotationDays = try integer(
            "signing.key.rotation.days", "BIZ_SIGNING_KEY_ROTATION_DAYS",
            default: result.identity.signingKeyRotationDays, in: 0...3_650)
        result.identity.accessTokenLifetime = try integer(
            "access.token.lifetime", "BIZ_ACCESS_TOKEN_LIFETIME", default: result.identity.accessTokenLifetime,
            in: 5...3_600)
        result.identity.loginAddressDelayAfter = try integer(
            "login.address.delay.after", "BIZ_LOGIN_ADDRESS_DELAY_AFTER",
            default: result.identity.loginAddressDelayAfter, in: 1...1_000_000)

        result.audit.store = secret("BIZ_AUDIT_STORE")
        func aws(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        result.audit.awsAccessKeyID = aws("AWS_ACCESS_KEY_ID")
        result.audit.awsSecretAccessKey =
            secret("AWS_SECRET_ACCESS_KEY") ?? aws("AWS_SECRET_ACCESS_KEY").map(Secret.init)
        result.audit.awsSessionToken = secret("AWS_SESSION_TOKEN") ?? aws("AWS_SESSION_TOKEN").map(Secret.init)

        result.notifications.webhookAllowedHosts = text("webhook.allowed.hosts") ?? ""
        do {
            _ = try DestinationPolicy(allowList: result.notifications.webhookAllowedHosts)
        } catch {
            throw RuntimeError(error.description)
        }
        result.notifications.webhookTimeout = try integer(
            "webhook.timeout", "BIZ_WEBHOOK_TIMEOUT", default: result.notifications.webhookTimeout, in: 1...300)
        result.notifications.webhookCertificateAuthorities = text("webhook.ca.file")
        result.notifications.maximumAttempts = try integer(
            "notifications.max.attempts", "BIZ_NOTIFICATIONS_MAX_ATTEMPTS",
            default: result.notifications.maximumAttempts, in: 1...100)
        result.notifications.retryBaseMilliseconds = try integer(
            "notifications.retry.base.ms", "BIZ_NOTIFICATIONS_RETRY_BASE_MS",
            default: result.notifications.retryBaseMilliseconds, in: 1...86_400_000)
        result.notifications.retryMaximumMilliseconds = try integer(
            "notifications.retry.max.ms", "BIZ_NOTIFICATIONS_RETRY_MAX_MS",
            default: result.notifications.retryMaximumMilliseconds, in: 1...604_800_000)
        result.notifications.smtpURL = secret("BIZ_SMTP_URL")
        if let url = result.notifications.smtpURL {
            do {
                _ = try SMTPSettings(url: url.value)
            } catch {
                throw RuntimeError("BIZ_SMTP_URL \(error.description)")
            }
        }
        result.notifications.smtpFrom = text("smtp.from")
        if let from = result.notifications.smtpFrom, EmailSender.mailbox(from) == nil {
            throw RuntimeError("BIZ_SMTP_FROM must be an address or `Name <address>`")
        }
        result.notifications.smtpCertificateAuthorities = text("smtp.ca.file")

        result.flagsFile = text("flags.file")
        if let file = result.flagsFile {
            do {
                result.flagsAtStart = try FlagFileWatcher.load(file)
            } catch {
                throw RuntimeError("BIZ_FLAGS_FILE \(file) is refused: \(error.description)")
            }
        }
        result.flagsPollMilliseconds = try integer(
            "flags.poll.ms", "BIZ_FLAGS_POLL_MS", default: result.flagsPollMilliseconds, in: 50...3_600_000)
        result.secretsRefreshSeconds = try integer(
            "secrets.refresh.seconds", "BIZ_SECRETS_REFRESH_SECONDS", default: result.secretsRefreshSeconds,
            in: 0...86_400)
        result.secretsGraceSeconds = try integer(
            "secrets.grace.seconds", "BIZ_SECRETS_GRACE_SECONDS", default: result.secretsGraceSeconds,
            in: 1...604_800)
        if result.secretsRefreshSeconds > 0, result.secretsGraceSeconds < 2 * result.secretsRefreshSeconds {
            // Every process reads a rotated secret within one interval of the others: a shorter grace would refuse
            // a process that has not read it yet.
            throw RuntimeError(
                "BIZ_SECRETS_GRACE_SECONDS (\(result.secretsGraceSeconds)) must be at least twice "
                    + "BIZ_SECRETS_REFRESH_SECONDS (\(result.secretsRefreshSeconds))")
        }

        result.testRelayFault = text("test.relay.fault")
        return result
    }
}
