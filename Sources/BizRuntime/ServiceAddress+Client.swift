import BizServiceKit
import GRPCCore
import GRPCNIOTransportHTTP2

extension ServiceAddress {
    /// How every call behaves: wait for a connection rather than fail at once while the service (re)starts, but never
    /// longer than the deadline, so a request fails with 503 instead of hanging.
    static let serviceConfig = ServiceConfig(
        methodConfig: [
            MethodConfig(names: [MethodConfig.Name(service: "")], waitForReady: true, timeout: .seconds(10))
        ]
    )

    /// A plaintext HTTP/2 client of the service at this address.
    func makeClient() throws -> GRPCClient<HTTP2ClientTransport.Posix> {
        let isIPv4 = host.split(separator: ".").count == 4 && host.allSatisfy { $0 == "." || $0.isNumber }
        return GRPCClient(
            transport: try .http2NIOPosix(
                target: isIPv4 ? .ipv4(address: host, port: port) : .dns(host: host, port: port),
                transportSecurity: .plaintext, serviceConfig: Self.serviceConfig))
    }
}
