import ArgumentParser
import BizProtos
import BizRuntime
import BizServiceKit
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2

/// Where a running system's gRPC services are: `--server`, else `BIZ_GRPC_ADDRESS`, else the address the
/// system wrote into its data directory, else 127.0.0.1:50051.
struct ConnectionOptions: ParsableArguments {
    @Option(help: "host:port of a running biz-retail's gRPC services.")
    var server: String?

    @Option(help: "Data directory of the running system (to find its address and bootstrap credentials).")
    var dataDir = ConfigurationReader.processEnvironment["BIZ_DATA_DIR"] ?? "./.biz-retail"

    @Option(help: "An access token to call with (else BIZ_TOKEN, else one obtained with the bootstrap client).")
    var token: String?

    func address() throws -> (host: String, port: Int) {
        let text =
            server ?? ConfigurationReader.processEnvironment["BIZ_GRPC_ADDRESS"] ?? recordedAddress()
            ?? "127.0.0.1:50051"
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (1...65535).contains(port), colon != text.startIndex
        else { throw ValidationError("the server address must be host:port, got '\(text)'") }
        return (String(text[..<colon]), port)
    }

    private func recorded(_ key: String, in name: String) -> String? {
        let file = URL(fileURLWithPath: dataDir).appendingPathComponent(name)
        guard let data = try? Data(contentsOf: file),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        return object[key] as? String
    }

    private func recordedAddress() -> String? { recorded("grpc", in: "endpoints.json") }

    /// `--token`, `BIZ_TOKEN`, or a client_credentials token of the operator's service client (`BIZ_OPERATOR_CLIENT_ID`,
    /// default `biz-retail-operator`, and `BIZ_OPERATOR_CLIENT_SECRET`, or `<data-dir>/operator-credentials.json`).
    private func accessToken(_ client: GRPCClient<HTTP2ClientTransport.Posix>) async throws -> String {
        let environment = ConfigurationReader.processEnvironment
        if let token = token ?? environment["BIZ_TOKEN"], !token.isEmpty { return token }
        let clientID =
            environment["BIZ_OPERATOR_CLIENT_ID"] ?? recorded("client_id", in: "operator-credentials.json")
            ?? "biz-retail-operator"
        guard
            let secret = environment["BIZ_OPERATOR_CLIENT_SECRET"]
                ?? recorded("client_secret", in: "operator-credentials.json")
        else {
            throw ValidationError(
                "no credentials: pass --token, set BIZ_TOKEN, or BIZ_OPERATOR_CLIENT_SECRET (the operator client's "
                    + "secret, generated into <data-dir>/operator-credentials.json when not configured)")
        }
        let response = try await Bizretail_Identity_V1_IdentityService.Client(wrapping: client).issueToken(
            .with {
                $0.grantType = "client_credentials"
                $0.clientID = clientID
                $0.clientSecret = secret
            }
        )
        return response.accessToken
    }

    /// Mutual TLS with `BIZ_GRPC_TLS_CERT`, `_KEY` and `_CA` (the operator's certificate from `biz-retail certs`),
    /// else plaintext.
    private func security() throws -> HTTP2ClientTransport.Posix.TransportSecurity {
        let environment = ConfigurationReader.processEnvironment
        switch (environment["BIZ_GRPC_TLS_CERT"], environment["BIZ_GRPC_TLS_KEY"], environment["BIZ_GRPC_TLS_CA"]) {
        case (nil, nil, nil): return .plaintext
        case (let certificate?, let key?, let ca?):
            return ServiceAddress.security(.init(certificate: certificate, privateKey: key, certificateAuthority: ca))
        default: throw ValidationError("BIZ_GRPC_TLS_CERT, BIZ_GRPC_TLS_KEY and BIZ_GRPC_TLS_CA must be set together")
        }
    }

    /// Runs `body` with a client connected to the system and the metadata that authenticates the caller; turns RPC
    /// failures into a one-line error and exit 1.
    func withClient<T: Sendable>(
        _ body: (GRPCClient<HTTP2ClientTransport.Posix>, Metadata) async throws -> T
    ) async throws -> T {
        let (host, port) = try address()
        do {
            return try await withGRPCClient(
                transport: .http2NIOPosix(target: .dns(host: host, port: port), transportSecurity: try security())
            ) { client in
                let token = try await accessToken(client)
                return try await body(client, ["authorization": "Bearer \(token)"])
            }
        } catch let error as RPCError {
            let message =
                error.code == .unavailable
                ? "cannot reach biz-retail at \(host):\(port) (is it running?)" : error.message
            FileHandle.standardError.write(Data("error: \(message)\n".utf8))
            throw ExitCode(1)
        }
    }
}
