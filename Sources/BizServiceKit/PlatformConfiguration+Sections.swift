/// The settings of one part of the platform.
extension PlatformConfiguration {
    /// Kafka, in the distributed mode.
    public struct Kafka: Sendable {
        /// Bootstrap servers (`BIZ_KAFKA_BROKERS`); required by the services that emit or consume events.
        public var brokers: String?
        /// Used when creating `audit` at start (`BIZ_KAFKA_PARTITIONS`).
        public var partitions = 6
        public var replicationFactor = 1
        /// Prefixes topics and consumer groups (`BIZ_KAFKA_TOPIC_PREFIX`).
        public var topicPrefix = ""
        /// Any librdkafka property (`BIZ_KAFKA_PROPERTY_SECURITY_PROTOCOL=SSL` → `security.protocol`).
        public var properties: [String: Secret] = [:]

        public init() {}
    }

    /// PEM files for mutual TLS between the processes: this process's certificate and key (served, and offered as a
    /// client), and the CA that signs every peer's.
    public struct GRPCTLS: Sendable, Hashable {
        public var certificate: String
        public var privateKey: String
        public var certificateAuthority: String

        public init(certificate: String, privateKey: String, certificateAuthority: String) {
            self.certificate = certificate
            self.privateKey = privateKey
            self.certificateAuthority = certificateAuthority
        }
    }

    /// The HTTPS API gateway.
    public struct Gateway: Sendable {
        /// PEM files (`BIZ_TLS_CERT`, `BIZ_TLS_KEY`); by default a self-signed certificate in `<data-dir>/tls/`.
        public var tlsCertificate: String?
        public var tlsPrivateKey: String?
        /// Peers whose `X-Forwarded-For` is believed (`BIZ_TRUSTED_PROXIES`).
        public var trustedProxies: Set<String> = []
        /// Seconds a connection may take to complete its TLS handshake (`BIZ_GATEWAY_HANDSHAKE_TIMEOUT`).
        public var handshakeTimeout = 10
        /// Seconds a connection may stay without a request before it is closed (`BIZ_GATEWAY_IDLE_TIMEOUT`).
        public var idleTimeout = 60
        /// Connections served at once; beyond it new ones wait to be accepted (`BIZ_GATEWAY_MAX_CONNECTIONS`).
        public var maximumConnections = 4_096

        public init() {}
    }

    /// Logs, metrics and traces. Traces and OTLP metrics follow the standard `OTEL_*` variables, read by swift-otel.
    public struct Telemetry: Sendable {
        /// `ecs` or `text` (`BIZ_LOG_FORMAT`, `--log-format`); by default text on a terminal, ECS JSON otherwise.
        public var logFormat: String?
        /// The loopback port of the Prometheus `/metrics` listener (`BIZ_METRICS_PORT`, `--metrics-port`); 0 turns it
        /// off.
        public var metricsPort = 9464
        /// Where ECS log lines are shipped (`BIZ_ELASTICSEARCH_URL`, credentials in the URL's user part).
        public var elasticsearchURL: Secret?
        /// The data stream's namespace: `logs-bizretail-<namespace>` (`BIZ_ELASTICSEARCH_NAMESPACE`).
        public var elasticsearchNamespace = "default"

        public init() {}
    }

    /// The Identity Provider.
    public struct Identity: Sendable {
        /// bcrypt cost of passwords (`BIZ_BCRYPT_COST`), 4…31.
        public var bcryptCost = 12
        /// The platform administrator and first-party login client created on first start (`BIZ_BOOTSTRAP_*`);
        /// generated into `<data-dir>/bootstrap-credentials.json` when unset.
        public var bootstrapAdminEmail: String?
        public var bootstrapAdminPassword: Secret?
        public var bootstrapClientID: String?
        public var bootstrapClientSecret: Secret?
        /// The secret of the operator CLI's service client `biz-retail-operator` (`BIZ_OPERATOR_CLIENT_SECRET`);
        /// generated once into `<data-dir>/operator-credentials.json` when unset.
        public var operatorClientSecret: Secret?
        /// Failed logins of an account before each further attempt waits, 1 s doubling up to 60 s
        /// (`BIZ_LOGIN_DELAY_AFTER`); the failures that lock it (`BIZ_LOGIN_LOCKOUT_AFTER`), for
        /// `BIZ_LOGIN_LOCKOUT_SECONDS`; failures from one client address before its attempts wait too
        /// (`BIZ_LOGIN_ADDRESS_DELAY_AFTER`).
        public var loginDelayAfter = 3
        public var loginLockoutAfter = 10
        public var loginLockoutSeconds = 900
        public var loginAddressDelayAfter = 20
        /// Rotate the token-signing key when it is this many days old (`BIZ_SIGNING_KEY_ROTATION_DAYS`); 0: only by
        /// `biz-retail identity rotate-keys`.
        public var signingKeyRotationDays = 0
        /// Access and ID token lifetime in seconds (`BIZ_ACCESS_TOKEN_LIFETIME`), 5…3600.
        public var accessTokenLifetime = 900

        public init() {}
    }

    /// The Audit service.
    public struct Audit: Sendable {
        /// `sqlite://PATH`, `postgres://…` or `dynamodb://REGION/PREFIX?endpoint=URL` (`BIZ_AUDIT_STORE`); by default the
        /// service's own database.
        public var store: Secret?
        /// For DynamoDB (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`).
        public var awsAccessKeyID: String?
        public var awsSecretAccessKey: Secret?
        public var awsSessionToken: Secret?

        public init() {}
    }

    /// The Notifications service.
    public struct Notifications: Sendable {
        /// Host names, addresses and CIDR networks webhooks may call although they are not public
        /// (`BIZ_WEBHOOK_ALLOWED_HOSTS`, comma-separated); http is allowed to them too.
        public var webhookAllowedHosts = ""
        /// Seconds a webhook attempt may take (`BIZ_WEBHOOK_TIMEOUT`), 1…300.
        public var webhookTimeout = 10
        /// A PEM file of certificate authorities webhook endpoints may be signed by, beside the system's
        /// (`BIZ_WEBHOOK_CA_FILE`).
        public var webhookCertificateAuthorities: String?
        /// Attempts of a delivery before it fails (`BIZ_NOTIFICATIONS_MAX_ATTEMPTS`), 1…100.
        public var maximumAttempts = 10
        /// The first retry's delay and the longest one, in milliseconds (`BIZ_NOTIFICATIONS_RETRY_BASE_MS`,
        /// `BIZ_NOTIFICATIONS_RETRY_MAX_MS`); each retry waits twice the one before, with jitter.
        public var retryBaseMilliseconds = 5_000
        public var retryMaximumMilliseconds = 3_600_000
        /// The SMTP server email goes through (`BIZ_SMTP_URL`: `smtp://[user:password@]host[:port]` with STARTTLS
        /// when offered, `?starttls=required`, or `smtps://`); unset, email deliveries fail saying so.
        public var smtpURL: Secret?
        /// The sender (`BIZ_SMTP_FROM`: `address` or `Name <address>`).
        public var smtpFrom: String?
        /// A PEM file of certificate authorities the SMTP server may be signed by, beside the system's
        /// (`BIZ_SMTP_CA_FILE`).
        public var smtpCertificateAuthorities: String?

        public init() {}
    }
}
