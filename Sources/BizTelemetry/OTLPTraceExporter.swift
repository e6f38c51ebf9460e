import AsyncHTTPClient
import BizProtos
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import NIOCore
import NIOSSL
import Synchronization

/// Exports spans over OTLP, `http/protobuf` (a POST to `…/v1/traces`) or `grpc` (`TraceService/Export`), as the
/// standard `OTEL_EXPORTER_OTLP_*` variables say (``OTLPSettings``).
public final class OTLPTraceExporter: EncodedSpanExporter {
    private enum Transport {
        case http(HTTPClient, URL)
        case grpc(GRPCClient<HTTP2ClientTransport.Posix>, Task<Void, any Error>)
    }

    public let settings: OTLPSettings
    private let resource: [(String, String)]
    private let transport: Transport
    /// The last HTTP request's body, its storage written over by the next one (exports run one at a time).
    private let reusableBody = Mutex<ByteBuffer?>(nil)

    /// `resource` is what every batch says of its process (`service.name` and the others).
    public init(settings: OTLPSettings, resource: [(String, String)]) throws {
        self.settings = settings
        self.resource = resource
        switch settings.protocol {
        case .httpProtobuf:
            var configuration = HTTPClient.Configuration()
            // Its own requests are not part of any trace (and would otherwise trace every export).
            configuration.tracing.tracer = nil
            configuration.timeout = .init(connect: .seconds(5), read: settings.timeout.timeAmount)
            if let certificate = settings.certificate {
                var tls = TLSConfiguration.makeClientConfiguration()
                tls.trustRoots = .file(certificate)
                configuration.tlsConfiguration = tls
            }
            transport = .http(
                HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration), settings.endpoint)
        case .grpc:
            let host = settings.endpoint.host ?? "localhost"
            let port = settings.endpoint.port ?? 4317
            let security: HTTP2ClientTransport.Posix.TransportSecurity
            if settings.endpoint.scheme == "https" {
                security = .tls { configuration in
                    if let certificate = settings.certificate {
                        configuration.trustRoots = .certificates([.file(path: certificate, format: .pem)])
                    }
                }
            } else {
                security = .plaintext
            }
            let client = GRPCClient(
                transport: try .http2NIOPosix(target: .dns(host: host, port: port), transportSecurity: security))
            transport = .grpc(client, Task { try await client.runConnections() })
        }
    }

    public func export(_ spans: [FinishedSpan]) async throws {
        try await export(encoded: OTLPEncoder.encoded(spans), count: spans.count)
    }

    /// Sends the request: its prefix (``OTLPEncoder/requestPrefix(spansLength:resource:scope:)``), then `body`.
    func export(encoded body: [UInt8], count: Int) async throws {
        let prefix = OTLPEncoder.requestPrefix(spansLength: body.count, resource: resource, scope: "biz-retail")
        switch transport {
        case .http(let client, let url):
            var buffer = reusableBody.withLock { $0.take() } ?? ByteBuffer()
            buffer.clear(minimumCapacity: prefix.count + body.count)
            buffer.writeBytes(prefix)
            buffer.writeBytes(body)
            let status = try await post(buffer, with: client, to: url)
            // The request is gone: the buffer is this exporter's alone again.
            reusableBody.withLock { $0 = buffer }
            guard (200..<300).contains(status) else {
                throw OTLPExportError(reason: "the collector answered HTTP \(status)")
            }
        case .grpc(let client, _):
            let body = prefix + body
            var metadata = Metadata()
            for (name, value) in settings.headers { metadata.addString(value, forKey: name.lowercased()) }
            var options = CallOptions.defaults
            options.timeout = settings.timeout
            try await client.unary(
                request: ClientRequest(message: body, metadata: metadata),
                descriptor: Opentelemetry_Proto_Collector_Trace_V1_TraceService.Method.Export.descriptor,
                serializer: EncodedSerializer(),
                deserializer: ProtobufDeserializer<Opentelemetry_Proto_Collector_Trace_V1_ExportTraceServiceResponse>(),
                options: options
            ) { response in _ = try response.message }
        }
    }

    /// POSTs `body` and returns the collector's status (its answer read and dropped).
    private func post(_ body: ByteBuffer, with client: HTTPClient, to url: URL) async throws -> UInt {
        var post = HTTPClientRequest(url: url.absoluteString)
        post.method = .POST
        post.headers.add(name: "Content-Type", value: "application/x-protobuf")
        for (name, value) in settings.headers { post.headers.add(name: name, value: value) }
        post.body = .bytes(body)
        let response = try await client.execute(post, timeout: settings.timeout.timeAmount)
        _ = try? await response.body.collect(upTo: 1 << 20)
        return response.status.code
    }

    public func shutdown() async {
        switch transport {
        case .http(let client, _): try? await client.shutdown()
        case .grpc(let client, let connections):
            client.beginGracefulShutdown()
            _ = await connections.result
        }
    }
}

/// A request already in protobuf's encoding (``OTLPEncoder``).
struct EncodedSerializer: MessageSerializer {
    func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes { Bytes(message) }
}

/// The collector refused an export.
public struct OTLPExportError: Error, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}

extension Duration {
    fileprivate var timeAmount: TimeAmount {
        .nanoseconds(nanoseconds)
    }
}
