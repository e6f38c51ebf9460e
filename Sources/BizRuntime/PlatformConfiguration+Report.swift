import BizMail
import BizServiceKit
import NotificationsService

extension PlatformConfiguration {
    /// Every setting, one `BIZ_NAME = value` per line, with secrets shown as `<redacted>` (or `<unset>`), for
    /// `biz-retail config`.
    public func report() -> String {
        func show(_ value: String?) -> String { value ?? "<unset>" }
        func show(_ value: Secret?) -> String { value == nil ? "<unset>" : "<redacted>" }
        /// A secret setting: unset, or redacted with where it came from.
        func hidden(_ variable: String, _ value: Secret?) -> String {
            guard value != nil else { return "<unset>" }
            return "<redacted> " + (secretSources[variable] ?? .environment(variable: variable)).description
        }
        var lines: [(String, String)] = [
            ("BIZ_DATA_DIR", dataDirectory), ("BIZ_GRPC_HOST", grpcHost), ("BIZ_GRPC_PORT", "\(grpcPort)"),
            ("BIZ_HTTPS_HOST", httpsHost), ("BIZ_HTTPS_PORT", "\(httpsPort)"), ("BIZ_LOG_LEVEL", logLevel),
            ("BIZ_LOG_FORMAT", telemetry.logFormat ?? "<terminal: text, else ecs>"),
            ("BIZ_METRICS_PORT", "\(telemetry.metricsPort)"),
            ("BIZ_ELASTICSEARCH_URL", hidden("BIZ_ELASTICSEARCH_URL", telemetry.elasticsearchURL)),
            ("BIZ_ELASTICSEARCH_NAMESPACE", telemetry.elasticsearchNamespace),
            ("BIZ_ENVIRONMENT", environmentName), ("BIZ_ISSUER", issuer ?? "\(effectiveIssuer) (default)"),
            ("BIZ_EXTERNAL_ISSUERS", externalIssuers.map(\.issuer).joined(separator: ", ")),
            ("BIZ_MASTER_KEY", hidden("BIZ_MASTER_KEY", masterKey)), ("BIZ_INSTANCE_ID", show(instanceID)),
            ("BIZ_DATABASE_URL", hidden("BIZ_DATABASE_URL", databaseURL)),
        ]
        for module in ServiceRegistry.modules {
            lines.append(
                (ServiceRegistry.variable(module.name, "ADDRESS"), show(addresses[module.name]?.description)))
        }
        for service in ServiceRegistry.servable {
            lines.append(
                (
                    ServiceRegistry.variable(service, "CLIENT_SECRET"),
                    serviceClientSecrets[service] == nil
                        ? "<derived from the master key>"
                        : hidden(ServiceRegistry.variable(service, "CLIENT_SECRET"), serviceClientSecrets[service])
                ))
        }
        lines += [
            ("BIZ_KAFKA_BROKERS", show(kafka.brokers)), ("BIZ_KAFKA_PARTITIONS", "\(kafka.partitions)"),
            ("BIZ_KAFKA_REPLICATION_FACTOR", "\(kafka.replicationFactor)"),
            ("BIZ_KAFKA_TOPIC_PREFIX", kafka.topicPrefix),
        ]
        for key in kafka.properties.keys.sorted() {
            let variable = "BIZ_KAFKA_PROPERTY_" + key.uppercased().replacingOccurrences(of: ".", with: "_")
            lines.append((variable, hidden(variable, kafka.properties[key])))
        }
        lines += [
            ("BIZ_TLS_CERT", show(gateway.tlsCertificate)), ("BIZ_TLS_KEY", show(gateway.tlsPrivateKey)),
            ("BIZ_GRPC_TLS_CERT", show(grpcTLS?.certificate)), ("BIZ_GRPC_TLS_KEY", show(grpcTLS?.privateKey)),
            ("BIZ_GRPC_TLS_CA", show(grpcTLS?.certificateAuthority)), ("BIZ_GRPC_PLAINTEXT", "\(grpcPlaintext)"),
            ("BIZ_TRUSTED_PROXIES", gateway.trustedProxies.sorted().joined(separator: ",")),
            ("BIZ_GATEWAY_HANDSHAKE_TIMEOUT", "\(gateway.handshakeTimeout)"),
            ("BIZ_GATEWAY_IDLE_TIMEOUT", "\(gateway.idleTimeout)"),
            ("BIZ_GATEWAY_MAX_CONNECTIONS", "\(gateway.maximumConnections)"),
            ("BIZ_BCRYPT_COST", "\(identity.bcryptCost)"),
            ("BIZ_BOOTSTRAP_ADMIN_EMAIL", show(identity.bootstrapAdminEmail)),
            ("BIZ_BOOTSTRAP_ADMIN_PASSWORD", hidden("BIZ_BOOTSTRAP_ADMIN_PASSWORD", identity.bootstrapAdminPassword)),
            ("BIZ_BOOTSTRAP_CLIENT_ID", show(identity.bootstrapClientID)),
            ("BIZ_BOOTSTRAP_CLIENT_SECRET", hidden("BIZ_BOOTSTRAP_CLIENT_SECRET", identity.bootstrapClientSecret)),
            ("BIZ_OPERATOR_CLIENT_SECRET", hidden("BIZ_OPERATOR_CLIENT_SECRET", identity.operatorClientSecret)),
            ("BIZ_LOGIN_DELAY_AFTER", "\(identity.loginDelayAfter)"),
            ("BIZ_LOGIN_LOCKOUT_AFTER", "\(identity.loginLockoutAfter)"),
            ("BIZ_LOGIN_LOCKOUT_SECONDS", "\(identity.loginLockoutSeconds)"),
            ("BIZ_LOGIN_ADDRESS_DELAY_AFTER", "\(identity.loginAddressDelayAfter)"),
            ("BIZ_SIGNING_KEY_ROTATION_DAYS", "\(identity.signingKeyRotationDays)"),
            ("BIZ_ACCESS_TOKEN_LIFETIME", "\(identity.accessTokenLifetime)"),
            ("BIZ_AUDIT_STORE", hidden("BIZ_AUDIT_STORE", audit.store)),
            ("AWS_ACCESS_KEY_ID", show(audit.awsAccessKeyID)),
            ("AWS_SECRET_ACCESS_KEY", hidden("AWS_SECRET_ACCESS_KEY", audit.awsSecretAccessKey)),
            ("AWS_SESSION_TOKEN", hidden("AWS_SESSION_TOKEN", audit.awsSessionToken)),
            ("BIZ_WEBHOOK_ALLOWED_HOSTS", notifications.webhookAllowedHosts),
            ("BIZ_WEBHOOK_TIMEOUT", "\(notifications.webhookTimeout)"),
            ("BIZ_WEBHOOK_CA_FILE", show(notifications.webhookCertificateAuthorities)),
            ("BIZ_NOTIFICATIONS_MAX_ATTEMPTS", "\(notifications.maximumAttempts)"),
            ("BIZ_NOTIFICATIONS_RETRY_BASE_MS", "\(notifications.retryBaseMilliseconds)"),
            ("BIZ_NOTIFICATIONS_RETRY_MAX_MS", "\(notifications.retryMaximumMilliseconds)"),
            (
                "BIZ_SMTP_URL",
                notifications.smtpURL.map {
                    ((try? SMTPSettings(url: $0.value).redacted) ?? "<redacted>") + " "
                        + (secretSources["BIZ_SMTP_URL"] ?? .environment(variable: "BIZ_SMTP_URL")).description
                } ?? "<unset>"
            ),
            ("BIZ_SMTP_FROM", notifications.smtpFrom ?? "\(EmailSender.defaultFrom.address) (default)"),
            ("BIZ_SMTP_CA_FILE", show(notifications.smtpCertificateAuthorities)),
            ("BIZ_FLAGS_FILE", flagsFile ?? "<unset: every flag has the code's default>"),
            ("BIZ_FLAGS_POLL_MS", "\(flagsPollMilliseconds)"),
            ("BIZ_SECRETS_REFRESH_SECONDS", secretsRefreshSeconds == 0 ? "0 (never)" : "\(secretsRefreshSeconds)"),
            ("BIZ_SECRETS_GRACE_SECONDS", "\(secretsGraceSeconds)"),
        ]
        if let testRelayFault { lines.append(("BIZ_TEST_RELAY_FAULT", testRelayFault)) }
        return lines.map { "\($0.0) = \($0.1)\n" }.joined()
    }
}
