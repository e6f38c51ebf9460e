import BizAuth
import BizProtos
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import ServiceLifecycle
import Synchronization

/// The gateway's gRPC connections to the services, and its own service token (client_credentials as the gateway
/// client), which attests the client IP it forwards.
public final class ServiceClients: Sendable {
    /// One gRPC client per distinct service address (in the embedded mode, one for all).
    public let connections: [GRPCClient<HTTP2ClientTransport.Posix>]
    public let identity: Bizretail_Identity_V1_IdentityService.Client<HTTP2ClientTransport.Posix>
    public let teams: Bizretail_Team_V1_TeamService.Client<HTTP2ClientTransport.Posix>
    public let audit: Bizretail_Audit_V1_AuditService.Client<HTTP2ClientTransport.Posix>
    let gatewayToken: GatewayToken

    /// Where each service listens.
    public struct Targets: Sendable {
        public var identity: ServiceAddress
        public var team: ServiceAddress
        public var audit: ServiceAddress

        public init(identity: ServiceAddress, team: ServiceAddress, audit: ServiceAddress) {
            self.identity = identity
            self.team = team
            self.audit = audit
        }

        /// Every service at one address (the embedded mode).
        public static func all(at address: ServiceAddress) -> Targets {
            Targets(identity: address, team: address, audit: address)
        }
    }

    public init(targets: Targets, gatewayClientID: String, gatewayClientSecret: String) throws {
        var clients: [ServiceAddress: GRPCClient<HTTP2ClientTransport.Posix>] = [:]
        for address in [targets.identity, targets.team, targets.audit] where clients[address] == nil {
            clients[address] = try address.makeClient()
        }
        connections = Array(clients.values)
        identity = .init(wrapping: clients[targets.identity]!)
        teams = .init(wrapping: clients[targets.team]!)
        audit = .init(wrapping: clients[targets.audit]!)
        gatewayToken = GatewayToken(clientID: gatewayClientID, secret: gatewayClientSecret)
    }

    /// The services that do not answer within two seconds (for `/health/ready`). Identity answers an unauthenticated
    /// key request; team and audit are probed without credentials, so any answer but UNAVAILABLE or a timeout
    /// (UNAUTHENTICATED, normally) means they are up.
    func unreachableServices() async -> [String] {
        var options = CallOptions.defaults
        options.timeout = .seconds(2)
        options.waitForReady = false
        func reachable(_ call: () async throws -> Void) async -> Bool {
            do {
                try await call()
                return true
            } catch let error as RPCError {
                return error.code != .unavailable && error.code != .deadlineExceeded
            } catch {
                return false
            }
        }
        var unreachable: [String] = []
        let identityOptions = options
        if !(await reachable({ _ = try await identity.getSigningKeys(.init(), options: identityOptions) })) {
            unreachable.append("identity")
        }
        if !(await reachable({ _ = try await teams.listTeams(.init(), options: identityOptions) })) {
            unreachable.append("team")
        }
        if !(await reachable({ _ = try await audit.listEvents(.init(), options: identityOptions) })) {
            unreachable.append("audit")
        }
        return unreachable
    }

    /// Metadata for a call on behalf of the request's caller.
    func metadata(for context: GatewayContext) async throws -> Metadata {
        var metadata: Metadata = [CallMetadata.traceparent: "\(context.trace.child().traceparent)"]
        if let bearer = context.bearerToken {
            metadata.addString("Bearer \(bearer)", forKey: CallMetadata.authorization)
        }
        let gateway = try await gatewayToken.current(identity)
        metadata.addString("Bearer \(gateway)", forKey: CallMetadata.gatewayAuthorization)
        metadata.addString(context.clientIP, forKey: CallMetadata.clientIP)
        return metadata
    }

    /// Runs `call`, turning gRPC failures into problems.
    func call<T: Sendable>(_ context: GatewayContext, _ call: (Metadata) async throws -> T) async throws -> T {
        do {
            return try await call(try await metadata(for: context))
        } catch let error as RPCError {
            throw Problem.from(error)
        }
    }
}

/// Keeps the gateway's own access token fresh (renewed a minute before it expires). The common case, a valid cached
/// token, is a lock-protected read: no actor hop on every request.
final class GatewayToken: Sendable {
    let clientID: String
    let secret: String
    private let cached = Mutex<(token: String, expiresAt: ContinuousClock.Instant)?>(nil)

    init(clientID: String, secret: String) {
        self.clientID = clientID
        self.secret = secret
    }

    func current(_ identity: Bizretail_Identity_V1_IdentityService.Client<HTTP2ClientTransport.Posix>) async throws
        -> String
    {
        let now = ContinuousClock.now
        if let token = cached.withLock({ $0.flatMap { now < $0.expiresAt ? $0.token : nil } }) { return token }
        // Concurrent renewals may race; each yields a valid token and the last one is kept.
        let response = try await identity.issueToken(
            .with {
                $0.grantType = "client_credentials"
                $0.clientID = clientID
                $0.clientSecret = secret
            }
        )
        let expiresAt = ContinuousClock.now + .seconds(max(30, response.expiresIn - 60))
        cached.withLock { $0 = (response.accessToken, expiresAt) }
        return response.accessToken
    }
}

/// A service's gRPC address, `host:port`.
public struct ServiceAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port` (`[v6]:port` for IPv6); nil when malformed.
    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (1...65535).contains(port)
        else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        self.init(host: host, port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// A plaintext HTTP/2 client that waits for a connection rather than failing at once while the service
    /// (re)starts, but never longer than the deadline: a request then fails with 503 instead of hanging.
    public func makeClient() throws -> GRPCClient<HTTP2ClientTransport.Posix> {
        let serviceConfig = ServiceConfig(
            methodConfig: [
                MethodConfig(names: [MethodConfig.Name(service: "")], waitForReady: true, timeout: .seconds(10))
            ]
        )
        let isIPv4 = host.split(separator: ".").count == 4 && host.allSatisfy { $0 == "." || $0.isNumber }
        if isIPv4 {
            return GRPCClient(
                transport: try .http2NIOPosix(
                    target: .ipv4(address: host, port: port), transportSecurity: .plaintext,
                    serviceConfig: serviceConfig)
            )
        }
        return GRPCClient(
            transport: try .http2NIOPosix(
                target: .dns(host: host, port: port), transportSecurity: .plaintext, serviceConfig: serviceConfig)
        )
    }
}

/// The gRPC client's connections as a `Service`.
public struct GRPCClientService: Service {
    public var client: GRPCClient<HTTP2ClientTransport.Posix>

    public init(client: GRPCClient<HTTP2ClientTransport.Posix>) { self.client = client }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await client.runConnections()
        } onGracefulShutdown: {
            client.beginGracefulShutdown()
        }
    }
}
