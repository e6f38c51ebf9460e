import ArgumentParser
import BizRuntime
import BizServiceKit
import Foundation
import Logging

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

    @Option(help: "ecs or text (BIZ_LOG_FORMAT; default text on a terminal, ECS JSON otherwise).")
    var logFormat: String?

    @Option(help: "Loopback port of the Prometheus /metrics listener, 0 turns it off (BIZ_METRICS_PORT; default 9464).")
    var metricsPort: Int?

    @Option(help: "A JSON file of settings, below the environment in priority (BIZ_CONFIG_FILE).")
    var configFile: String?

    /// The configuration: these options, then the environment, then the file. `ConfigurationReader` validates
    /// every value, whichever source gave it.
    func read() async throws -> PlatformConfiguration {
        var given: [String: String] = [:]
        given["data.dir"] = dataDir
        given["grpc.host"] = grpcHost
        given["grpc.port"] = grpcPort.map(String.init)
        given["https.host"] = httpsHost
        given["https.port"] = httpsPort.map(String.init)
        given["log.level"] = logLevel
        given["log.format"] = logFormat
        given["metrics.port"] = metricsPort.map(String.init)
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
