import BizStorage
import Foundation

/// A running Biz Retail system as the end-to-end tests see it, whichever way it runs.
public protocol RunningSystem: Sendable {
    /// `https` (a URL) and `grpc` (host:port of the service that serves the operator APIs).
    func endpoint(_ key: String) -> String?
    /// A generated bootstrap credential (`admin_email`, `admin_password`, `admin_id`, `client_id`, `client_secret`).
    func bootstrapCredential(_ key: String) -> String?
    /// The operator client's generated credential (`client_id`, `client_secret`).
    func operatorCredential(_ key: String) -> String?
    /// The PEM file the gateway's certificate verifies against.
    var certificateFile: String { get }
    func stop() async throws
}

/// The two ways the end-to-end tests run the system.
public enum Topology: String, Sendable, CaseIterable, CustomStringConvertible {
    /// `biz-retail serve`: one process, SQLite, the in-process bus.
    case embedded
    /// `biz-retail serve <service>` per service, over the tests' PostgreSQL and Kafka servers.
    case distributed

    public var description: String { rawValue }

    /// Starts a fresh system of this topology in `directory`, runs `body`, and stops it.
    public func withSystem<T>(
        in directory: String, environment: [String: String] = [:], _ body: (any RunningSystem) async throws -> T
    ) async throws -> T {
        let system: any RunningSystem
        switch self {
        case .embedded: system = try await BizRetailProcess(dataDirectory: directory, environment: environment)
        case .distributed: system = try await BizRetailCluster(directory: directory, environment: environment)
        }
        do {
            let result = try await body(system)
            try await system.stop()
            return result
        } catch {
            try? await system.stop()
            throw error
        }
    }
}

extension BizRetailProcess: RunningSystem {
    public var certificateFile: String { dataDirectory + "/tls/cert.pem" }

    public func stop() async throws {
        try await stop(signal: SIGTERM, timeout: .seconds(15))
    }
}

/// The distributed topology for tests: every service (identity, contractor, team, audit) and the gateway as separate `biz-retail serve <service>`
/// processes, each with a fresh PostgreSQL database on the tests' server (`BIZ_TEST_POSTGRES_URL`), events through
/// the tests' Kafka endpoint (`BIZ_TEST_KAFKA_BROKERS`) under topics of its own (`BIZ_KAFKA_TOPIC_PREFIX`).
public final class BizRetailCluster: RunningSystem, @unchecked Sendable {
    // Invariant: `processes` is only touched from the test that owns this object.
    public private(set) var processes: [String: BizRetailProcess] = [:]
    public let directory: String
    public let databases: [String: String]
    let environment: [String: String]

    /// Every service of the registry and the gateway, in start order, as the executable lists them.
    public static let services: [String] = {
        guard let result = try? runProgramBlocking(BizRetailProcess.executable, ["services"]), result.status == 0
        else { return ["identity", "contractor", "team", "audit", "gateway"] }
        return result.output.split(separator: "\n").map(String.init)
    }()

    /// With `secretFiles`, every process reads its database URL and the gateway's client secret from files
    /// (`BIZ_DATABASE_URL_FILE`, `BIZ_GATEWAY_CLIENT_SECRET_FILE`, as a Kubernetes secret mount gives them), which a
    /// test rewrites to rotate them (``secretFile(_:)``, ``writeSecret(_:_:)``).
    public let secretFiles: Bool

    /// `postgres` and `kafka` name servers of the test's own; by default the shared test servers.
    public init(
        directory: String, environment given: [String: String] = [:], postgres: String? = nil, kafka: String? = nil,
        secretFiles: Bool = false
    ) async throws {
        self.secretFiles = secretFiles
        guard let kafka = kafka ?? ProcessInfo.processInfo.environment["BIZ_TEST_KAFKA_BROKERS"] else {
            throw ProcessFailure("BIZ_TEST_KAFKA_BROKERS is not set (scripts/test starts Kafka and sets it)")
        }
        self.directory = directory
        var databases: [String: String] = [:]
        for service in Self.services {
            databases[service] = try await TestDatabases.createPostgresDatabase(on: postgres)
        }
        self.databases = databases
        var environment = given
        environment["BIZ_KAFKA_BROKERS"] = kafka
        environment["BIZ_KAFKA_TOPIC_PREFIX"] =
            environment["BIZ_KAFKA_TOPIC_PREFIX"] ?? "test-" + UUID().uuidString.prefix(8).lowercased() + "."
        environment["BIZ_KAFKA_PARTITIONS"] = "3"
        environment["BIZ_MASTER_KEY"] = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        environment["BIZ_GATEWAY_CLIENT_SECRET"] = UUID().uuidString + UUID().uuidString
        environment["BIZ_BCRYPT_COST"] = environment["BIZ_BCRYPT_COST"] ?? "4"
        // Every process must name the same issuer; the gateway's port is only known once it runs.
        environment["BIZ_ISSUER"] = environment["BIZ_ISSUER"] ?? "https://biz-retail.test"
        self.environment = environment
        if secretFiles {
            try FileManager.default.createDirectory(
                atPath: directory + "/secrets", withIntermediateDirectories: true)
            try writeSecret("gateway-client-secret", environment["BIZ_GATEWAY_CLIENT_SECRET"]!)
            for (service, url) in databases { try writeSecret(service + "-database-url", url) }
        }
        // Mutual TLS between the processes, as `scripts/cluster` sets it up (unless the caller gave its own).
        if environment["BIZ_GRPC_TLS_CA"] == nil {
            let certificates = try await BizRetailProcess.run(["certs", "--out", directory + "/certs"])
            guard certificates.status == 0 else { throw ProcessFailure("biz-retail certs: \(certificates.error)") }
            self.certificates = directory + "/certs"
        }
        for service in Self.services { try await start(service) }
    }

    /// Where `biz-retail certs` wrote the cluster's CA and certificates (nil for a plaintext cluster).
    public private(set) var certificates: String?

    /// The mutual-TLS variables of the process named `name` (its own certificate).
    public func tlsEnvironment(as name: String) -> [String: String] {
        guard let certificates else { return [:] }
        return [
            "BIZ_GRPC_TLS_CERT": "\(certificates)/\(name).pem", "BIZ_GRPC_TLS_KEY": "\(certificates)/\(name)-key.pem",
            "BIZ_GRPC_TLS_CA": "\(certificates)/ca.pem",
        ]
    }

    /// The environment a service process gets: the cluster's, its database, and where the others listen.
    func environment(of service: String) -> [String: String] {
        var environment = self.environment.merging(tlsEnvironment(as: service)) { _, tls in tls }
        if secretFiles {
            environment["BIZ_DATABASE_URL_FILE"] = secretFile(service + "-database-url")
            environment["BIZ_GATEWAY_CLIENT_SECRET_FILE"] = secretFile("gateway-client-secret")
        } else {
            environment["BIZ_DATABASE_URL"] = databases[service]
        }
        for (other, process) in processes where Self.services.contains(other) && other != "gateway" {
            if let address = process.endpoint("grpc") {
                environment["BIZ_\(other.uppercased().replacingOccurrences(of: "-", with: "_"))_ADDRESS"] = address
            }
        }
        return environment
    }

    /// Starts (or restarts, on the port it had) one process of `service`, named `name` (a second replica is
    /// `audit-2`, with a data directory and instance id of its own), and waits until it listens.
    public func start(_ service: String, as name: String? = nil) async throws {
        let name = name ?? service
        let processDirectory = directory + "/" + name
        try FileManager.default.createDirectory(atPath: processDirectory, withIntermediateDirectories: true)
        let port = processes[name]?.endpoint("grpc").flatMap { $0.split(separator: ":").last }.flatMap { Int($0) }
        processes[name] = try await BizRetailProcess(
            dataDirectory: processDirectory, environment: environment(of: service), service: service,
            grpcPort: port ?? 0)
    }

    public func process(_ service: String) -> BizRetailProcess { processes[service]! }

    /// The file a secret is read from with `secretFiles`: `gateway-client-secret`, `team-database-url`.
    public func secretFile(_ name: String) -> String { directory + "/secrets/" + name }

    /// Replaces a secret file whole (by rename, as a secret mount changes), readable by its owner only.
    public func writeSecret(_ name: String, _ value: String) throws {
        let path = secretFile(name)
        let staged = path + ".new"
        guard
            FileManager.default.createFile(
                atPath: staged, contents: Data((value + "\n").utf8),
                attributes: [
                    .posixPermissions: 0o600
                ]), rename(staged, path) == 0
        else { throw ProcessFailure("cannot write \(path)") }
    }

    /// The environment every service process gets (Kafka brokers, topic prefix, shared secrets).
    public var sharedEnvironment: [String: String] { environment }

    public func endpoint(_ key: String) -> String? {
        key == "https" ? processes["gateway"]?.endpoint("https") : processes["audit"]?.endpoint("grpc")
    }

    public func operatorCredential(_ key: String) -> String? {
        processes["identity"]?.operatorCredential(key)
    }

    public func bootstrapCredential(_ key: String) -> String? {
        processes["identity"]?.bootstrapCredential(key)
    }

    public var certificateFile: String { directory + "/gateway/tls/cert.pem" }

    public func stop() async throws {
        let replicas = processes.keys.filter { !Self.services.contains($0) }
        for name in Self.services.reversed() + replicas {
            if let process = processes[name], process.process.isRunning { try await process.stop() }
        }
        for database in databases.values { try? await TestDatabases.dropPostgresDatabase(database) }
    }

    /// Every service's log, for failure messages.
    public func logs() -> String {
        Self.services.compactMap { service in processes[service].map { "== \(service)\n\($0.log())" } }
            .joined(separator: "\n")
    }
}
