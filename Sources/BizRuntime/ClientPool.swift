import BizServiceKit
import GRPCCore
import GRPCNIOTransportHTTP2

/// The HTTP/2 clients of a distributed process: one per distinct address (`BIZ_<SERVICE>_ADDRESS`, default
/// 127.0.0.1:50051), created when first needed. Used only while the process is assembled.
final class ClientPool {
    let configuration: PlatformConfiguration
    private var byAddress: [ServiceAddress: GRPCClient<HTTP2ClientTransport.Posix>] = [:]

    init(configuration: PlatformConfiguration) { self.configuration = configuration }

    var clients: [GRPCClient<HTTP2ClientTransport.Posix>] { Array(byAddress.values) }

    func client(of service: String) throws -> GRPCClient<HTTP2ClientTransport.Posix> {
        let address = configuration.addresses[service] ?? ServiceAddress(host: "127.0.0.1", port: 50051)
        if let client = byAddress[address] { return client }
        let client = try address.makeClient(tls: configuration.grpcTLS)
        byAddress[address] = client
        return client
    }
}
