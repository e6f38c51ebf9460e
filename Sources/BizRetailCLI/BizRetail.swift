import ArgumentParser
import BizRuntime
import BizServiceKit
import Foundation
import Logging

@main
struct BizRetail: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "biz-retail",
        abstract: "Biz Retail: the back-office platform (services, event pipeline, audit trail).",
        subcommands: [Serve.self, Config.self, Services.self, Events.self, Audit.self],
        defaultSubcommand: Serve.self
    )
}

/// The options every command that reads the platform's configuration shares; each one overrides its `BIZ_*`
/// variable.
struct ConfigurationOptions: ParsableArguments {
    @Option(help: "Where databases and generated files live (BIZ_DATA_DIR; default ./.biz-retail).")
    var dataDir: String?

    @Option(help: "Address the gRPC services listen on (BIZ_GRPC_HOST; default 127.0.0.1).")
    var grpcHost: String?

    @Option(help: "Port of the gRPC services, 0 picks a free one (BIZ_GRPC_PORT; default 50051).")
    var grpcPort: Int?

    @Option(help: "Address the HTTPS API gateway listens on (BIZ_HTTPS_HOST; default 127.0.0.1).")
    var httpsHost: String?

    @Option(help: "Port of the HTTPS API gateway, 0 picks a free one (BIZ_HTTPS_PORT; default 8443).")
    var httpsPort: Int?

    @Option(help: "trace, debug, info, notice, warning, error or critical (BIZ_LOG_LEVEL; default info).")
    var logLevel: String?

    @Option(help: "A JSON file of settings, below the environment in priority (BIZ_CONFIG_FILE).")
    var configFile: String?

    func validate() throws {
        if let logLevel, Logger.Level(rawValue: logLevel) == nil {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        if let grpcPort, !(0...65535).contains(grpcPort) {
            throw ValidationError("--grpc-port must be between 0 and 65535")
        }
        if let httpsPort, !(0...65535).contains(httpsPort) {
            throw ValidationError("--https-port must be between 0 and 65535")
        }
    }

    /// The configuration: these options, then the environment, then the file.
    func read() async throws -> PlatformConfiguration {
        var given: [String: String] = [:]
        given["data.dir"] = dataDir
        given["grpc.host"] = grpcHost
        given["grpc.port"] = grpcPort.map(String.init)
        given["https.host"] = httpsHost
        given["https.port"] = httpsPort.map(String.init)
        given["log.level"] = logLevel
        given["config_file"] = configFile
        do {
            return try await ConfigurationReader(
                commandLine: given, environment: ConfigurationReader.processEnvironment
            ).read()
        } catch let error as RuntimeError {
            throw ValidationError(error.description)
        }
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run every service in this process (the embedded mode), or one service (the distributed mode).",
        discussion: """
            Without SERVICE, every service runs in this process over SQLite files in the data directory, calling each
            other through the in-process gRPC transport. With SERVICE (see `biz-retail services`), only that service
            runs; it reads its database from BIZ_DATABASE_URL, sends and receives events through Kafka
            (BIZ_KAFKA_BROKERS), and reaches the services it calls at BIZ_<SERVICE>_ADDRESS. README lists every
            setting; `biz-retail config` prints the effective ones.
            """
    )

    @Argument(help: "The one service to run (distributed mode); omit it to run everything in this process.")
    var service: String?

    @OptionGroup var options: ConfigurationOptions

    func validate() throws {
        if let service, !ServiceRegistry.servable.contains(service) {
            throw ValidationError(
                "unknown service '\(service)'; one of: " + ServiceRegistry.servable.joined(separator: ", "))
        }
    }

    func run() async throws {
        let configuration = try await options.read()
        let level = Logger.Level(rawValue: configuration.logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "biz-retail")
        let role: NodeRole = service.map { .service($0) } ?? .embedded
        let mode = service == nil ? "embedded" : "distributed"
        do {
            let node = try await BizNode.assemble(configuration, role: role, logger: logger)
            logger.info(
                "biz-retail starting",
                metadata: ["data_dir": "\(configuration.dataDirectory)", "mode": "\(mode)", "service": "\(role.name)"])
            try await node.run(logger: logger)
            logger.info("biz-retail stopped")
        } catch {
            // Every error type here describes itself without secrets (storage, Kafka and runtime errors).
            logger.critical("cannot start", metadata: ["service": "\(role.name)", "reason": "\(error)"])
            throw ExitCode(1)
        }
    }
}

struct Config: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the effective configuration (options, environment, file and defaults); secrets redacted.")

    @OptionGroup var options: ConfigurationOptions

    func run() async throws {
        print(try await options.read().report(), terminator: "")
    }
}

struct Services: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the services `biz-retail serve <service>` runs, one per line.")

    func run() throws {
        for name in ServiceRegistry.servable { print(name) }
    }
}
