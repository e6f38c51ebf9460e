import BizTelemetry
import Hummingbird
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle

/// The admin listener: Prometheus text at `GET /metrics`, on loopback only (`BIZ_METRICS_PORT`), apart from the
/// gateway so scrapes need no token and the API has no admin routes.
enum MetricsListener {
    static func make(
        port: Int, registry: PrometheusCollectorRegistry, processMetrics: ProcessMetrics?, logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void
    ) -> some Service {
        let router = Router()
        router.get("/metrics") { _, _ in
            processMetrics?.update()
            var response = Response(
                status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
            response.headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return response
        }
        return Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: nil),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? port
                logger.info("metrics listening", metadata: ["address": "127.0.0.1:\(port)"])
                await onListening(port)
            },
            logger: logger)
    }
}
