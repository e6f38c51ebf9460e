import BizAuth
import BizFlags

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
    /// OpenID Connect providers (Keycloak realms) whose access tokens are accepted too (`BIZ_EXTERNAL_ISSUERS`).
    public var externalIssuers: [ExternalIssuer] = []
    /// This replica's UUID (`BIZ_INSTANCE_ID`); by default generated once into `<data-dir>/instance-id`.
    public var instanceID: String?
    /// The service's database (`BIZ_DATABASE_URL`, distributed mode); by default `<data-dir>/<service>.sqlite`.
    public var databaseURL: Secret?
    /// `host:port` of each service's gRPC (`BIZ_<SERVICE>_ADDRESS`, distributed mode).
    public var addresses: [String: ServiceAddress] = [:]
    /// The secrets of the services' accounts given in the configuration, by service (`BIZ_<SERVICE>_CLIENT_SECRET`:
    /// `BIZ_TEAM_CLIENT_SECRET`, `BIZ_GATEWAY_CLIENT_SECRET` …), each the same on that service and on the Identity
    /// Provider; the others are derived from the master key (``BizAuth/ServiceAccount``).
    public var serviceClientSecrets: [String: Secret] = [:]
    /// Mutual TLS on every gRPC link between processes (`BIZ_GRPC_TLS_CERT`, `_KEY`, `_CA`; `biz-retail certs` makes
    /// them); nil serves and calls plaintext HTTP/2, which is refused off loopback unless `grpcPlaintext`.
    public var grpcTLS: GRPCTLS?
    /// Allows a plaintext gRPC listener on a non-loopback address (`BIZ_GRPC_PLAINTEXT=true`).
    public var grpcPlaintext = false
    public var kafka = Kafka()
    public var gateway = Gateway()
    public var telemetry = Telemetry()
    public var identity = Identity()
    public var audit = Audit()
    public var notifications = Notifications()
    /// Feature flags in flagd's format (`BIZ_FLAGS_FILE`), reloaded when the file changes; none: every flag
    /// evaluates to the code's default.
    public var flagsFile: String?
    /// ``flagsFile`` as read and checked at start (nil when the configuration was not read from one).
    public var flagsAtStart: FlagSet?
    /// How often the flag file is read for changes, in milliseconds (`BIZ_FLAGS_POLL_MS`).
    public var flagsPollMilliseconds = 1_000
    /// Where each secret setting came from, by variable (`biz-retail config` shows it, never the value).
    public var secretSources: [String: SecretSource] = [:]
    /// Every secret as read at start, by variable: the seed of the process's rotation (``secretEnvironment``).
    public var secretValues: [String: Secret] = [:]
    /// The environment the secrets were read from (the secret variables, their `_FILE`s, AWS's variables): the
    /// process reads them again from there every ``secretsRefreshSeconds``.
    public var secretEnvironment: [String: String] = [:]
    /// How often every secret is read again, in seconds (`BIZ_SECRETS_REFRESH_SECONDS`; 0: never). A rotated
    /// database password is then used for new connections, a rotated service-account secret accepted beside the
    /// previous one for ``secretsGraceSeconds``; any other rotated secret takes effect at the next start.
    public var secretsRefreshSeconds = 60
    /// How long the Identity Provider keeps accepting a service account's previous secret after it rotated, and the
    /// service keeps it to fall back on, in seconds (`BIZ_SECRETS_GRACE_SECONDS`).
    public var secretsGraceSeconds = 900
    /// Test-only fault of the outbox relays (`BIZ_TEST_RELAY_FAULT`: `hold`, `kill-after-publish`).
    public var testRelayFault: String?

    public init() {}

    /// The issuer tokens carry: ``issuer``, else `https://localhost:<https port>`.
    public var effectiveIssuer: String { issuer ?? "https://localhost:\(httpsPort == 0 ? 8443 : httpsPort)" }

    /// The audience of every access token the platform issues.
    public static let audience = TokenVerifier.apiAudience
}
