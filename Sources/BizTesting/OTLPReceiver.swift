import Foundation

/// The tests' OTLP receiver (`scripts/otlp-receiver`, Python grpcio + opentelemetry-proto): spans exported to it over
/// OTLP/gRPC or OTLP/HTTP are read back with ``spans()``.
public final class OTLPReceiver: Sendable {
    /// One exported span, ids in lowercase hex.
    public struct Span: Sendable, Decodable {
        public var traceID: String
        public var spanID: String
        public var parentSpanID: String
        public var name: String
        public var kind: String
        public var service: String?

        enum CodingKeys: String, CodingKey {
            case traceID = "trace_id"
            case spanID = "span_id"
            case parentSpanID = "parent_span_id"
            case name, kind, service
        }
    }

    /// `http://127.0.0.1:PORT` of the OTLP/gRPC and OTLP/HTTP listeners.
    public let grpcEndpoint: String
    public let httpEndpoint: String
    let output: String
    private let script: HelperScript

    private init(grpc: String, http: String, output: String, script: HelperScript) {
        self.grpcEndpoint = grpc
        self.httpEndpoint = http
        self.output = output
        self.script = script
    }

    /// Starts a receiver writing to `directory`/spans.jsonl.
    public static func start(in directory: String) async throws -> OTLPReceiver {
        let output = directory + "/spans.jsonl"
        let script = try await HelperScript.start(
            "otlp-receiver", arguments: [output], readyFile: output + ".ready",
            install: "pip install grpcio opentelemetry-proto")
        let line = script.ready
        var endpoints: [String: String] = [:]
        for part in line.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            let pair = part.split(separator: "=", maxSplits: 1)
            if pair.count == 2 { endpoints[String(pair[0])] = String(pair[1]) }
        }
        guard let grpc = endpoints["grpc"], let http = endpoints["http"] else {
            script.stop()
            throw ProcessFailure("the OTLP receiver did not start (pip install grpcio opentelemetry-proto)")
        }
        return OTLPReceiver(grpc: grpc, http: http, output: output, script: script)
    }

    /// Every span received so far.
    public func spans() -> [Span] {
        guard let text = try? String(contentsOfFile: output, encoding: .utf8) else { return [] }
        let decoder = JSONDecoder()
        return text.split(separator: "\n").compactMap { try? decoder.decode(Span.self, from: Data($0.utf8)) }
    }

    public func stop() {
        script.stop()
    }
}
