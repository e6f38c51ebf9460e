import ArgumentParser
import BizRuntime
import Foundation
import Logging

@main
struct BizRetail: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "biz-retail",
        abstract: "Biz Retail: the back-office platform (services, event pipeline, audit trail).",
        subcommands: [Serve.self, Events.self, Audit.self],
        defaultSubcommand: Serve.self
    )
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run every service in this process (the embedded mode), or one service (the distributed mode).",
        discussion: """
            Without SERVICE, every service runs in this process over SQLite files in the data directory. With
            SERVICE (gateway, identity, team or audit), only that service runs; it reads its database from
            BIZ_DATABASE_URL, sends and receives events through Kafka (BIZ_KAFKA_BROKERS), and reaches the services it
            calls at BIZ_<SERVICE>_ADDRESS. README lists every variable.
            """
    )

    @Argument(help: "The one service to run (distributed mode); omit it to run everything in this process.")
    var service: String?

    @Option(help: "Where databases and generated files live.")
    var dataDir = ProcessInfo.processInfo.environment["BIZ_DATA_DIR"] ?? "./.biz-retail"

    @Option(help: "Address the gRPC services listen on.")
    var grpcHost = "127.0.0.1"

    @Option(help: "Port of the gRPC services (0 picks a free one).")
    var grpcPort = 50051

    @Option(help: "Address the HTTPS API gateway listens on.")
    var httpsHost = "127.0.0.1"

    @Option(help: "Port of the HTTPS API gateway (0 picks a free one).")
    var httpsPort = 8443

    @Option(help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel = ProcessInfo.processInfo.environment["BIZ_LOG_LEVEL"] ?? "info"

    func validate() throws {
        if let service, ServiceRole(rawValue: service) == nil {
            throw ValidationError(
                "unknown service '\(service)'; one of: " + ServiceRole.allCases.map(\.rawValue).joined(separator: ", "))
        }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        guard (0...65535).contains(grpcPort) else { throw ValidationError("--grpc-port must be between 0 and 65535") }
        guard (0...65535).contains(httpsPort) else { throw ValidationError("--https-port must be between 0 and 65535") }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "biz-retail")
        var fault: String? = ProcessInfo.processInfo.environment["BIZ_TEST_RELAY_FAULT"]
        if fault?.isEmpty == true { fault = nil }
        if let service, let role = ServiceRole(rawValue: service) {
            try await serveNode(role, logger: logger)
            return
        }
        let configuration = EmbeddedConfiguration(
            dataDirectory: dataDir, grpcHost: grpcHost, grpcPort: grpcPort, httpsHost: httpsHost, httpsPort: httpsPort,
            environment: ProcessInfo.processInfo.environment,
            relayFault: try fault.map { value in
                guard let fault = OutboxRelayFault(rawValue: value) else {
                    throw ValidationError("BIZ_TEST_RELAY_FAULT must be 'hold' or 'kill-after-publish'")
                }
                return fault
            }
        )
        do {
            let system = try await BizSystem.embedded(configuration, logger: logger)
            logger.info("biz-retail starting", metadata: ["data_dir": "\(dataDir)", "mode": "embedded"])
            try await system.run(logger: logger)
            logger.info("biz-retail stopped")
        } catch let error as RuntimeError {
            logger.critical("cannot start", metadata: ["reason": "\(error.description)"])
            throw ExitCode(1)
        }
    }

    private func serveNode(_ role: ServiceRole, logger: Logger) async throws {
        let configuration = NodeConfiguration(
            role: role, dataDirectory: dataDir, grpcHost: grpcHost, grpcPort: grpcPort, httpsHost: httpsHost,
            httpsPort: httpsPort, environment: ProcessInfo.processInfo.environment)
        do {
            let system = try await BizSystem.node(configuration, logger: logger)
            logger.info("biz-retail starting", metadata: ["service": "\(role.rawValue)", "mode": "distributed"])
            try await system.run(logger: logger)
            logger.info("biz-retail stopped", metadata: ["service": "\(role.rawValue)"])
        } catch {
            // Every error type here describes itself without secrets (storage, Kafka and runtime errors).
            logger.critical("cannot start", metadata: ["service": "\(role.rawValue)", "reason": "\(error)"])
            throw ExitCode(1)
        }
    }
}
