import GRPCCore

/// A generated gRPC client type, erased from its transport, so a module calls another service the same way over the
/// in-process transport and over HTTP/2:
///
/// ```swift
/// enum IdentityClient: ServiceClient {
///     static func wrapping<T: ClientTransport>(_ client: GRPCClient<T>)
///         -> any Bizretail_Identity_V1_IdentityService.ClientProtocol
///     { Bizretail_Identity_V1_IdentityService.Client(wrapping: client) }
/// }
/// ```
public protocol ServiceClient {
    associatedtype Erased: Sendable
    static func wrapping<Transport: ClientTransport>(_ client: GRPCClient<Transport>) -> Erased
}

/// The connections to the services a module calls (its ``ServiceModule/dependencies``), made by the runtime before
/// the module assembles: in-process in the embedded mode, HTTP/2 (`BIZ_<SERVICE>_ADDRESS`) in the distributed one.
public struct ServiceConnections: Sendable {
    private let clients: [String: any Connection]

    /// None: a module that calls no other service.
    public init() { clients = [:] }

    public init<Transport: ClientTransport>(_ clients: [String: GRPCClient<Transport>]) {
        self.clients = clients.mapValues { TransportConnection(client: $0) }
    }

    /// The options of a call made while the caller's own call is open: half the platform's 10 s deadline, so the
    /// answer (503 when the callee cannot be reached) comes back before the gateway gives up on the whole request.
    public static let nestedCall: CallOptions = {
        var options = CallOptions.defaults
        options.timeout = .seconds(5)
        return options
    }()

    /// The client of `service` (a name among the module's dependencies).
    public func client<Client: ServiceClient>(_ type: Client.Type, of service: String) throws(ServiceConnectionError)
        -> Client.Erased
    {
        guard let connection = clients[service] else { throw ServiceConnectionError(service: service) }
        return connection.wrapped(type)
    }
}

/// A module asked for a service it does not list among its dependencies: a programming error, reported at start.
public struct ServiceConnectionError: Error, CustomStringConvertible {
    public var service: String
    public var description: String { "no connection to '\(service)': list it in the module's dependencies" }
}

private protocol Connection: Sendable {
    func wrapped<Client: ServiceClient>(_ type: Client.Type) -> Client.Erased
}

private struct TransportConnection<Transport: ClientTransport>: Connection {
    let client: GRPCClient<Transport>
    func wrapped<Client: ServiceClient>(_ type: Client.Type) -> Client.Erased { Client.wrapping(client) }
}
