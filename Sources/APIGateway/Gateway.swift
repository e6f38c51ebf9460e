import BizAuth
import BizFlags
import BizStorage
import Foundation
import GRPCCore
import Hummingbird
import HummingbirdCore
import HummingbirdHTTP2
import Logging
import NIOCore
import NIOSSL

/// The gateway's own database (idempotency keys).
public let gatewayMigrations = IdempotencyMiddleware.migrations

/// Configuration of the HTTPS API gateway.
public struct GatewayConfiguration: Sendable {
    public var host: String
    /// 0 picks a free port.
    public var port: Int
    /// The issuer URL tokens carry and discovery advertises.
    public var issuer: String
    public var tls: TLSFiles
    /// Peers whose `X-Forwarded-For` is believed.
    public var trustedProxies: Set<String>
    /// How long a connection may take to complete its TLS handshake.
    public var handshakeTimeout: Duration = .seconds(10)
    /// How long a connection may stay without a request (HTTP/1.1 keep-alive, or HTTP/2 without open streams).
    public var idleTimeout: Duration = .seconds(60)
    /// Connections served at once; beyond it, new ones wait in the listen backlog until one closes.
    public var maximumConnections = 4_096

    public init(host: String, port: Int, issuer: String, tls: TLSFiles, trustedProxies: Set<String>) {
        self.host = host
        self.port = port
        self.issuer = issuer
        self.tls = tls
        self.trustedProxies = trustedProxies
    }
}

/// Builds the gateway: HTTPS (HTTP/2 and HTTP/1.1), OAuth2/OIDC endpoints, health, and `/v1` behind bearer auth.
/// Every route reaches the services over gRPC through `clients`.
public func buildGateway<Transport: ClientTransport>(
    _ configuration: GatewayConfiguration, clients: ServiceClients<Transport>, verifier: TokenVerifier,
    store: any SQLStore, logger: Logger,
    onListening: @escaping @Sendable (Int) async -> Void = { _ in }
) throws -> some ApplicationProtocol {
    try serveGateway(
        configuration,
        router: buildRouter(configuration, clients: clients, verifier: verifier, store: store, logger: logger),
        logger: logger, onListening: onListening)
}

/// Serves `router` over HTTPS (HTTP/2 and HTTP/1.1) where `configuration` says.
public func serveGateway(
    _ configuration: GatewayConfiguration, router: Router<GatewayContext>, logger: Logger,
    onListening: @escaping @Sendable (Int) async -> Void = { _ in }
) throws -> some ApplicationProtocol {
    let host = configuration.host
    let tls = TLSChannelConfiguration(tlsConfiguration: try configuration.tls.serverConfiguration())
    let idle = TimeAmount(configuration.idleTimeout)
    let channel = HTTP2UpgradeChannel.Configuration(
        idleTimeout: configuration.idleTimeout, streamConfiguration: .init(idleTimeout: idle))
    let handshake = TimeAmount(configuration.handshakeTimeout)
    let server = HTTPServerBuilder { responder in
        HandshakeDeadlineChannel(
            base: try HTTP2UpgradeChannel(tlsChannelConfiguration: tls, configuration: channel, responder: responder),
            timeout: handshake)
    }
    return Application(
        router: router,
        server: server,
        configuration: .init(
            address: .hostname(host, port: configuration.port), serverName: "biz-retail",
            availableConnectionsDelegate: .maximum(configuration.maximumConnections, logger: logger)),
        onServerRunning: { channel in
            let port = channel.localAddress?.port ?? 0
            logger.info("HTTPS API gateway listening", metadata: ["address": "https://\(host):\(port)"])
            await onListening(port)
        },
        logger: logger
    )
}

/// The gateway's routes and middleware, without the server: what `buildGateway` serves, and what tests drive
/// in-process (`app.test(.router)`).
public func buildRouter<Transport: ClientTransport>(
    _ configuration: GatewayConfiguration, clients: ServiceClients<Transport>, verifier: TokenVerifier,
    store: any SQLStore, flags: FeatureFlags = FeatureFlags(), logger: Logger
) -> Router<GatewayContext> {
    let router = Router(context: GatewayContext.self)
    // The request's span, access line and RED metrics per route (`hb_requests` by status,
    // `http_server_request_duration`) are RequestScopeMiddleware's.
    router.add(middleware: RequestScopeMiddleware(trustedProxies: configuration.trustedProxies, logger: logger))
    router.add(middleware: MethodNotAllowedMiddleware())
    let bearer = BearerAuthMiddleware(verifier: verifier, scope: AuthInterceptor.apiScope)
    OAuthRoutes(clients: clients, issuer: configuration.issuer).register(
        on: router, userinfoMiddleware: BearerAuthMiddleware(verifier: verifier, scope: "openid"))
    AuthorizationRoutes(clients: clients).register(on: router)
    router.get("/openapi.json") { _, _ in
        var response = Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.json)))
        response.headers[.contentType] = "application/json"
        return response
    }
    let v1 = router.group("v1").add(middleware: bearer).add(middleware: IdempotencyMiddleware(store: store))
    TeamRoutes(clients: clients).register(on: v1)
    ContractorRoutes(clients: clients).register(on: v1)
    CostCenterRoutes(clients: clients).register(on: v1)
    UserRoutes(clients: clients).register(on: v1)
    ClientRoutes(clients: clients).register(on: v1)
    AuditRoutes(clients: clients).register(on: v1)
    NotificationRoutes(clients: clients, flags: flags).register(on: v1)
    FeatureFlagRoutes(flags: flags).register(on: v1)
    return router
}
