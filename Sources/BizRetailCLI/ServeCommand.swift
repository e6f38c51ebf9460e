import ArgumentParser
import BizRuntime
import BizServiceKit
import Foundation
import Logging

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
        let role: NodeRole = service.map { .service($0) } ?? .embedded
        let telemetry: Telemetry
        do {
            telemetry = try Telemetry.bootstrap(
                configuration, serviceName: service.map { "biz-retail-\($0)" } ?? "biz-retail")
        } catch {
            throw ValidationError("\(error)")
        }
        let logger = Logger(label: "biz-retail")
        do {
            try await BizNode.run(configuration, role: role, telemetry: telemetry, logger: logger)
            logger.info("biz-retail stopped")
        } catch {
            // Every error type here describes itself without secrets (storage, Kafka and runtime errors).
            logger.critical("cannot start", metadata: ["service": "\(role.name)", "reason": "\(error)"])
            throw ExitCode(1)
        }
    }
}
