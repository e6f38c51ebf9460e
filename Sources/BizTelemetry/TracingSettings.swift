import Foundation

/// The tracer's configuration, read from the standard OpenTelemetry variables: `OTEL_SDK_DISABLED`,
/// `OTEL_TRACES_SAMPLER(_ARG)`, `OTEL_TRACES_EXPORTER` (`otlp` or `none`), `OTEL_BSP_*` and the OTLP exporter's
/// (``OTLPSettings``). Spans are exported only when an OTLP endpoint is set.
public struct TracingSettings: Sendable {
    public var enabled: Bool
    public var sampler: Sampler
    public var batch: SpanBatcher.Settings
    /// `nil`: spans are sampled and propagated but not exported.
    public var exporter: OTLPSettings?

    /// A value the specification does not allow, naming its variable.
    public struct InvalidValue: Error, CustomStringConvertible {
        public var description: String
    }

    public init(environment: [String: String]) throws(InvalidValue) {
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        func milliseconds(_ name: String, _ fallback: Duration) throws(InvalidValue) -> Duration {
            guard let text = value(name) else { return fallback }
            guard let number = Int(text), number > 0 else {
                throw InvalidValue(description: "\(name) must be a number of milliseconds above 0")
            }
            return .milliseconds(number)
        }
        func count(_ name: String, _ fallback: Int) throws(InvalidValue) -> Int {
            guard let text = value(name) else { return fallback }
            guard let number = Int(text), number > 0 else {
                throw InvalidValue(description: "\(name) must be a whole number above 0")
            }
            return number
        }
        enabled = value("OTEL_SDK_DISABLED")?.lowercased() != "true"
        guard let sampler = Sampler(name: value("OTEL_TRACES_SAMPLER"), argument: value("OTEL_TRACES_SAMPLER_ARG"))
        else {
            throw InvalidValue(
                description: "OTEL_TRACES_SAMPLER must be always_on, always_off, traceidratio or a parentbased_ form")
        }
        self.sampler = sampler
        batch = SpanBatcher.Settings()
        batch.scheduleDelay = try milliseconds("OTEL_BSP_SCHEDULE_DELAY", batch.scheduleDelay)
        batch.exportTimeout = try milliseconds("OTEL_BSP_EXPORT_TIMEOUT", batch.exportTimeout)
        batch.maxQueueSize = try count("OTEL_BSP_MAX_QUEUE_SIZE", batch.maxQueueSize)
        batch.maxExportBatchSize = min(
            try count("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", batch.maxExportBatchSize), batch.maxQueueSize)
        switch value("OTEL_TRACES_EXPORTER")?.lowercased() ?? "otlp" {
        case "otlp":
            let endpointSet =
                value("OTEL_EXPORTER_OTLP_ENDPOINT") != nil
                || value("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != nil
            exporter = endpointSet ? try OTLPSettings(environment: environment, signal: "TRACES") : nil
        case "none": exporter = nil
        case let other:
            throw InvalidValue(description: "OTEL_TRACES_EXPORTER=\(other) is not supported: use otlp or none")
        }
    }
}

/// An OTLP exporter's settings for one signal (`TRACES`), from `OTEL_EXPORTER_OTLP_<SIGNAL>_*` or else
/// `OTEL_EXPORTER_OTLP_*`: `PROTOCOL` (`http/protobuf`, the default, or `grpc`), `ENDPOINT`, `HEADERS`, `TIMEOUT`
/// (ms) and `CERTIFICATE` (a PEM file of trusted roots for an `https` endpoint).
public struct OTLPSettings: Sendable {
    public enum WireProtocol: String, Sendable {
        case httpProtobuf = "http/protobuf"
        case grpc
    }

    public var `protocol`: WireProtocol
    /// For `http/protobuf` the full URL (`…/v1/traces`); for `grpc` the collector's scheme, host and port.
    public var endpoint: URL
    public var headers: [(String, String)]
    public var timeout: Duration
    public var certificate: String?

    public init(environment: [String: String], signal: String) throws(TracingSettings.InvalidValue) {
        func value(_ suffix: String) -> (name: String, value: String)? {
            for name in ["OTEL_EXPORTER_OTLP_\(signal)_\(suffix)", "OTEL_EXPORTER_OTLP_\(suffix)"] {
                if let value = environment[name], !value.isEmpty { return (name, value) }
            }
            return nil
        }
        switch value("PROTOCOL")?.value.lowercased() ?? "http/protobuf" {
        case "http/protobuf": self.protocol = .httpProtobuf
        case "grpc": self.protocol = .grpc
        case "http/json":
            throw .init(
                description: "OTEL_EXPORTER_OTLP_PROTOCOL=http/json is not supported: use grpc or http/protobuf")
        case let other:
            throw .init(description: "OTEL_EXPORTER_OTLP_PROTOCOL=\(other) is not supported: use grpc or http/protobuf")
        }
        let fallback = self.protocol == .grpc ? "http://localhost:4317" : "http://localhost:4318"
        let signalEndpoint = environment["OTEL_EXPORTER_OTLP_\(signal)_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 }
        let base = signalEndpoint ?? environment["OTEL_EXPORTER_OTLP_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 }
        var text = base ?? fallback
        // The signal's own endpoint is used as given; the general one gets the signal's path (HTTP only).
        if signalEndpoint == nil, self.protocol == .httpProtobuf {
            text = (text.hasSuffix("/") ? String(text.dropLast()) : text) + "/v1/\(signal.lowercased())"
        }
        guard let url = URL(string: text), let scheme = url.scheme, scheme == "http" || scheme == "https",
            url.host != nil
        else {
            throw .init(description: "the OTLP endpoint must be an http:// or https:// URL with a host")
        }
        endpoint = url
        headers = []
        if let (name, list) = value("HEADERS") {
            for text in list.split(separator: ",") {
                guard let pair = TracingSettings.pair(text) else {
                    throw .init(description: "\(name) must be a list of key=value pairs")
                }
                headers.append(pair)
            }
        }
        timeout = .seconds(10)
        if let (name, milliseconds) = value("TIMEOUT") {
            guard let number = Int(milliseconds), number > 0 else {
                throw .init(description: "\(name) must be a number of milliseconds above 0")
            }
            timeout = .milliseconds(number)
        }
        certificate = value("CERTIFICATE")?.value
    }
}

extension TracingSettings {
    /// What every export says of the process: `service.name`, `service.instance.id`, the SDK, and the pairs of
    /// `OTEL_RESOURCE_ATTRIBUTES` (`key=value,…`, percent-encoded), which the first two override.
    public static func resource(serviceName: String, instanceID: String, environment: [String: String])
        -> [(String, String)]
    {
        var attributes: [(String, String)] = []
        for text in (environment["OTEL_RESOURCE_ATTRIBUTES"] ?? "").split(separator: ",") {
            guard let pair = pair(text), pair.0 != "service.name", pair.0 != "service.instance.id" else { continue }
            attributes.append(pair)
        }
        return [
            ("service.name", serviceName), ("service.instance.id", instanceID), ("telemetry.sdk.name", "biz-retail"),
            ("telemetry.sdk.language", "swift"),
        ] + attributes
    }

    /// One `key=value` of the variables' lists (`OTEL_RESOURCE_ATTRIBUTES`, `…_HEADERS`), trimmed and
    /// percent-decoded; `nil` when malformed or the key is empty.
    static func pair(_ text: Substring) -> (String, String)? {
        let parts = text.split(separator: "=", maxSplits: 1)
        guard parts.count == 2,
            let key = String(parts[0]).trimmingCharacters(in: .whitespaces).removingPercentEncoding,
            let value = String(parts[1]).trimmingCharacters(in: .whitespaces).removingPercentEncoding,
            !key.isEmpty
        else { return nil }
        return (key, value)
    }
}
