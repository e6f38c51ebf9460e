import BizServiceKit
import BizTelemetry
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

    /// An HTTP/2 client of the service at this address: mutual TLS with `tls` (the peer's certificate must be signed
    /// by its CA and name this host), else plaintext.
    func makeClient(tls: PlatformConfiguration.GRPCTLS?) throws -> GRPCClient<HTTP2ClientTransport.Posix> {
        let isIPv4 = host.split(separator: ".").count == 4 && host.allSatisfy { $0 == "." || $0.isNumber }
        return GRPCClient(
            transport: try .http2NIOPosix(
                target: isIPv4 ? .ipv4(address: host, port: port) : .dns(host: host, port: port),
                transportSecurity: Self.security(tls), serviceConfig: Self.serviceConfig),
            interceptors: [ClientTracingInterceptor()])
    }

    /// A client's side of a link: mutual TLS with `tls`, else plaintext. The operator CLI calls it too.
    public static func security(_ tls: PlatformConfiguration.GRPCTLS?) -> HTTP2ClientTransport.Posix.TransportSecurity {
        guard let tls else { return .plaintext }
        return .mTLS(
            certificateChain: [.file(path: tls.certificate, format: .pem)],
            privateKey: .file(path: tls.privateKey, format: .pem)
        ) { configuration in
            configuration.trustRoots = .certificates([.file(path: tls.certificateAuthority, format: .pem)])
            configuration.serverCertificateVerification = .fullVerification
        }
    }
}
