import BizProtos
import BizTesting
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Testing

/// The distributed mode's gRPC links: mutual TLS with the deployment's CA, and no plaintext listener off loopback.
extension TopologySuites {
    @Suite("Service links are mutual TLS")
    struct ServiceLinkTLSTests {
        /// Calls the public `GetSigningKeys` of the identity process at `address` with `security`.
        func signingKeys(_ address: String, _ security: HTTP2ClientTransport.Posix.TransportSecurity) async throws
            -> String
        {
            let parts = address.split(separator: ":")
            let transport = try HTTP2ClientTransport.Posix(
                target: .ipv4(address: String(parts[0]), port: Int(parts[1])!), transportSecurity: security)
            return try await withGRPCClient(transport: transport) { client in
                try await Bizretail_Identity_V1_IdentityService.Client(wrapping: client).getSigningKeys(
                    .init(), options: Self.options
                ).jwksJson
            }
        }

        static let options: CallOptions = {
            var options = CallOptions.defaults
            options.timeout = .seconds(5)
            return options
        }()

        func mTLS(certificate: String, key: String, ca: String) -> HTTP2ClientTransport.Posix.TransportSecurity {
            .mTLS(
                certificateChain: [.file(path: certificate, format: .pem)], privateKey: .file(path: key, format: .pem)
            ) { $0.trustRoots = .certificates([.file(path: ca, format: .pem)]) }
        }

        @Test("only a client with a certificate of the cluster's CA is served; plaintext and strangers are refused")
        func mutualTLS() async throws {
            try await withTemporaryDirectory { directory in
                let cluster = try await BizRetailCluster(directory: directory + "/cluster")
                do {
                    let certificates = try #require(cluster.certificates)
                    let identity = try #require(cluster.process("identity").endpoint("grpc"))
                    let ca = certificates + "/ca.pem"
                    let keys = try await signingKeys(
                        identity,
                        mTLS(
                            certificate: certificates + "/operator.pem", key: certificates + "/operator-key.pem", ca: ca
                        ))
                    #expect(keys.contains("\"keys\""))

                    await #expect(throws: (any Error).self) { try await signingKeys(identity, .plaintext) }
                    // A certificate of another CA, which the cluster's processes do not trust.
                    let stranger = try await BizRetailProcess.run([
                        "certs", "--out", directory + "/stranger", "intruder",
                    ])
                    #expect(stranger.status == 0, "\(stranger.error)")
                    await #expect(throws: (any Error).self) {
                        try await signingKeys(
                            identity,
                            mTLS(
                                certificate: directory + "/stranger/intruder.pem",
                                key: directory + "/stranger/intruder-key.pem", ca: ca))
                    }
                    // The gateway reached every service over those links.
                    let https = HTTPSClient(cluster)
                    #expect(try await https.request("GET", "/health/ready").status == 200)
                    try await cluster.stop()
                } catch {
                    try? await cluster.stop()
                    throw ProcessFailure("\(error)\n\(cluster.logs().suffix(4000))")
                }
            }
        }

        @Test("a plaintext gRPC listener on a non-loopback address is refused unless explicitly allowed")
        func plaintextOffLoopback() async throws {
            try await withTemporaryDirectory { directory in
                for name in ["refused", "allowed"] {
                    try FileManager.default.createDirectory(
                        atPath: directory + "/" + name, withIntermediateDirectories: true)
                }
                let refused = await #expect(throws: ProcessFailure.self) {
                    _ = try await BizRetailProcess(
                        dataDirectory: directory + "/refused", environment: ["BIZ_GRPC_HOST": "0.0.0.0"])
                }
                // The failure carries the process's log.
                #expect(refused?.description.contains("refusing to serve plaintext gRPC on 0.0.0.0") == true)
                let allowed = try await BizRetailProcess(
                    dataDirectory: directory + "/allowed",
                    environment: ["BIZ_GRPC_HOST": "0.0.0.0", "BIZ_GRPC_PLAINTEXT": "true"])
                try await allowed.stop()
            }
        }
    }
}
