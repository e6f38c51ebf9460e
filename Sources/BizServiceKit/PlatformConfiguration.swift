/// The platform's whole configuration as typed values, read once at start (`BizRuntime.ConfigurationReader`: command
/// line, then environment, then an optional JSON file) and passed down. The defaults are the same in both modes.
public struct PlatformConfiguration: Sendable {
    /// Databases, keys and generated files (`--data-dir`, `BIZ_DATA_DIR`).
    public var dataDirectory = "./.biz-retail"
    public var grpcHost = "127.0.0.1"
    /// 0 picks a free port.
    public var grpcPort = 50051
    public var httpsHost = "127.0.0.1"
    /// 0 picks a free port.
    public var httpsPort = 8443
    public var logLevel = "info"
    /// `metadata.environment` of every event (`BIZ_ENVIRONMENT`).
    public var environmentName = "development"
    /// The token issuer URL (`BIZ_ISSUER`); by default `https://localhost:<https port>`.
    public var issuer: String?
    /// Base64 of 32 bytes (`BIZ_MASTER_KEY`); by default generated into `<data-dir>/master.key`.
    public var masterKey: Secret?
    /// This replica's UUID (`BIZ_INSTANCE_ID`); by default generated once into `<data-dir>/instance-id`.
    public var instanceID: String?
    /// The service's database (`BIZ_DATABASE_URL`, distributed mode); by default `<data-dir>/<service>.sqlite`.
    public var databaseURL: Secret?
    /// `host:port` of each service's gRPC (`BIZ_<SERVICE>_ADDRESS`, distributed mode).
    public var addresses: [String: ServiceAddress] = [:]
    /// The gateway's own OAuth2 client secret (`BIZ_GATEWAY_CLIENT_SECRET`); required in the distributed mode, by
    /// default generated into the data directory in the embedded mode.
    public var gatewayClientSecret: Secret?
    public var kafka = KafkaSettings()
    public var gateway = GatewaySettings()
    public var identity = IdentitySettings()
    public var audit = AuditSettings()
    /// Test-only fault of the outbox relays (`BIZ_TEST_RELAY_FAULT`: `hold`, `kill-after-publish`).
    public var testRelayFault: String?

    public init() {}

    /// The issuer tokens carry: ``issuer``, else `https://localhost:<https port>`.
    public var effectiveIssuer: String { issuer ?? "https://localhost:\(httpsPort == 0 ? 8443 : httpsPort)" }

    /// The audience of every access token the platform issues.
    public static let audience = "biz-retail-api"
}

/// Kafka, in the distributed mode.
public struct KafkaSettings: Sendable {
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

/// The HTTPS API gateway.
public struct GatewaySettings: Sendable {
    /// PEM files (`BIZ_TLS_CERT`, `BIZ_TLS_KEY`); by default a self-signed certificate in `<data-dir>/tls/`.
    public var tlsCertificate: String?
    public var tlsPrivateKey: String?
    /// Peers whose `X-Forwarded-For` is believed (`BIZ_TRUSTED_PROXIES`).
    public var trustedProxies: Set<String> = []

    public init() {}
}

/// The Identity Provider.
public struct IdentitySettings: Sendable {
    /// bcrypt cost of passwords (`BIZ_BCRYPT_COST`), 4…31.
    public var bcryptCost = 12
    /// The platform administrator and first-party client created on first start (`BIZ_BOOTSTRAP_*`); generated into
    /// `<data-dir>/bootstrap-credentials.json` when unset.
    public var bootstrapAdminEmail: String?
    public var bootstrapAdminPassword: Secret?
    public var bootstrapClientID: String?
    public var bootstrapClientSecret: Secret?

    public init() {}
}

/// The Audit service.
public struct AuditSettings: Sendable {
    /// `sqlite://PATH`, `postgres://…` or `dynamodb://REGION/PREFIX?endpoint=URL` (`BIZ_AUDIT_STORE`); by default the
    /// service's own database.
    public var store: Secret?
    /// For DynamoDB (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`).
    public var awsAccessKeyID: String?
    public var awsSecretAccessKey: Secret?
    public var awsSessionToken: Secret?

    public init() {}
}

/// A configuration value that must never be printed or logged: `description` hides it.
public struct Secret: Sendable, Hashable, CustomStringConvertible {
    public var value: String
    public init(_ value: String) { self.value = value }
    public var description: String { "<redacted>" }
}
