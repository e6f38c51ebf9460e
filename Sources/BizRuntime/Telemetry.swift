import BizServiceKit
import BizTelemetry
import CoreMetrics
import Foundation
import Logging
import OTel
import Prometheus
import ServiceLifecycle
import Tracing

/// A process's logs, metrics and traces, bootstrapped once before anything logs:
///
/// - logs: ``ECSLogHandler`` (ECS JSON or text on standard error, redacted), shipped to Elasticsearch when
///   `BIZ_ELASTICSEARCH_URL` is set;
/// - traces: the platform's tracer (``PlatformTracer``), always on so every log line and event carries the request's
///   trace id; spans are exported over OTLP only when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `…_TRACES_ENDPOINT`) is set,
///   by the standard `OTEL_*` variables (``TracingSettings``); `OTEL_SDK_DISABLED=true` turns tracing off;
/// - metrics: a Prometheus registry served on the loopback `/metrics` listener (`BIZ_METRICS_PORT`), and OTLP metrics
///   too when an endpoint is set.
public struct Telemetry: Sendable {
    /// Run for the whole life of the process, first started and last stopped: exporters, the log shipper, process
    /// metrics.
    public var services: [any Service]
    /// What `/metrics` serves; `nil` when metrics are off.
    public let registry: PrometheusCollectorRegistry?
    public let processMetrics: ProcessMetrics?
    public let logOutput: LogOutput
    /// The tracer is on (`OTEL_SDK_DISABLED` unset).
    public let tracing: Bool

    /// Bootstraps swift-log, swift-metrics and swift-distributed-tracing for this process; call it once, first.
    public static func bootstrap(
        _ configuration: PlatformConfiguration, serviceName: String,
        environment: [String: String] = ConfigurationReader.processEnvironment
    ) throws -> Telemetry {
        var services: [any Service] = []
        let shipper = try configuration.telemetry.elasticsearchURL.map { url in
            var settings = ElasticsearchShipper.Settings(url: url.value)
            settings.namespace = configuration.telemetry.elasticsearchNamespace
            return try ElasticsearchShipper(settings: settings)
        }
        if let shipper { services.append(shipper) }
        let format =
            configuration.telemetry.logFormat.flatMap(LogOutput.Format.init(rawValue:)) ?? LogOutput.defaultFormat
        let name = environment["OTEL_SERVICE_NAME"].flatMap { $0.isEmpty ? nil : $0 } ?? serviceName
        let output = LogOutput(
            format: format, serviceName: name, instanceID: configuration.instanceID ?? Self.defaultInstanceID,
            shipper: shipper)
        let level = Logger.Level(rawValue: configuration.logLevel) ?? .info
        LoggingSystem.bootstrap { label in ECSLogHandler(label: label, level: level, output: output) }

        var otel = OTel.Configuration.default
        otel.serviceName = name
        otel.logs.enabled = false
        otel.diagnosticLogger = .custom(Logger(label: "biz-retail.otel"))
        otel.diagnosticLogLevel = .warning

        let tracingSettings: TracingSettings
        do {
            tracingSettings = try TracingSettings(environment: environment)
        } catch {
            throw RuntimeError(error.description)
        }
        let tracing = tracingSettings.enabled
        if tracing {
            // Without an exporter spans are still sampled and propagated (every log line and event carries the
            // request's trace id); nothing is kept.
            let batcher = try tracingSettings.exporter.map { settings in
                SpanBatcher(
                    exporter: try OTLPTraceExporter(
                        settings: settings,
                        resource: TracingSettings.resource(
                            serviceName: name, instanceID: output.instanceID, environment: environment)),
                    settings: tracingSettings.batch, logger: Logger(label: "biz-retail.tracing"))
            }
            PlatformTracer.bootstrap(PlatformTracer(sampler: tracingSettings.sampler, batcher: batcher))
            if let batcher { services.append(batcher) }
        }

        var factories: [any MetricsFactory] = []
        var registry: PrometheusCollectorRegistry?
        if configuration.telemetry.metricsPort != 0 {
            let prometheus = PrometheusCollectorRegistry()
            var factory = PrometheusMetricsFactory(registry: prometheus)
            factory.defaultDurationHistogramBuckets =
                [.microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2)]
                + factory.defaultDurationHistogramBuckets
            factory.nameAndLabelSanitizer = { label, dimensions in
                (Self.prometheusName(label), dimensions.map { (Self.prometheusName($0.0), $0.1) })
            }
            factories.append(factory)
            registry = prometheus
        }
        if tracing, Self.exports(environment, signal: "METRICS") {
            try Self.refuseJSON(environment, signal: "METRICS")
            var metrics = otel
            metrics.traces.enabled = false
            let backend = try OTel.makeMetricsBackend(configuration: metrics)
            factories.append(backend.factory)
            services.append(backend.service)
        }
        var processMetrics: ProcessMetrics?
        if !factories.isEmpty {
            MetricsSystem.bootstrap(factories.count == 1 ? factories[0] : MultiplexMetricsHandler(factories: factories))
            let metrics = ProcessMetrics()
            services.append(metrics)
            processMetrics = metrics
        }
        return Telemetry(
            services: services, registry: registry, processMetrics: processMetrics, logOutput: output,
            tracing: tracing)
    }

    /// Metrics are exported when an OTLP endpoint is set for it (or for all) and its exporter is not `none`.
    static func exports(_ environment: [String: String], signal: String) -> Bool {
        func set(_ name: String) -> Bool { !(environment[name] ?? "").isEmpty }
        guard environment["OTEL_\(signal)_EXPORTER"]?.lowercased() != "none" else { return false }
        return set("OTEL_EXPORTER_OTLP_ENDPOINT") || set("OTEL_EXPORTER_OTLP_\(signal)_ENDPOINT")
    }

    /// swift-otel's `http/json` writes trace and span ids in base64, which collectors refuse.
    static func refuseJSON(_ environment: [String: String], signal: String) throws {
        for name in ["OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_\(signal)_PROTOCOL"]
        where environment[name]?.lowercased() == "http/json" {
            throw RuntimeError(
                "\(name)=http/json is not supported (collectors refuse its ids): use grpc or http/protobuf")
        }
    }

    /// Prometheus names: letters, digits and underscores (swift-metrics labels of libraries use dots).
    static func prometheusName(_ name: String) -> String {
        String(
            decoding: name.utf8.map { byte in
                (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x30 && byte <= 0x39)
                    ? byte : UInt8(ascii: "_")
            }, as: UTF8.self)
    }

    static var defaultInstanceID: String {
        "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"
    }
}
