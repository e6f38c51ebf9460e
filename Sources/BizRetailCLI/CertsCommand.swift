import ArgumentParser
import BizRuntime
import Foundation

struct Certs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create a local CA and certificates for mutual TLS between the processes of a deployment.",
        discussion: """
            Writes ca.pem (and ca-key.pem) and <name>.pem / <name>-key.pem for each name (default: every service, the \
            gateway and the operator CLI) into --out. Existing files are kept, so running it again only adds what is \
            missing. Each process then gets BIZ_GRPC_TLS_CERT=<name>.pem, BIZ_GRPC_TLS_KEY=<name>-key.pem and \
            BIZ_GRPC_TLS_CA=ca.pem. Keys are written 0600.
            """)

    @Option(help: "Where to write the files.")
    var out: String

    @Option(name: .customLong("host"), help: "A DNS name or IPv4 address every certificate is valid for (repeatable).")
    var hosts: [String] = ["localhost", "127.0.0.1"]

    @Argument(help: "The names to issue certificates for.")
    var names: [String] = ServiceRegistry.servable + ["operator"]

    func run() throws {
        let authority = LocalCertificateAuthority(directory: URL(fileURLWithPath: out), hosts: hosts)
        let written = try authority.issue(names)
        for name in names {
            print("\(name): \(authority.certificateFile(name).path)\(written.contains(name) ? "" : " (kept)")")
        }
    }
}
