import ArgumentParser
import BizProtos
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2

/// Where a running system's gRPC services are: `--server`, else `BIZ_GRPC_ADDRESS`, else the address the
/// system wrote into its data directory, else 127.0.0.1:50051.
struct ConnectionOptions: ParsableArguments {
    @Option(help: "host:port of a running biz-retail's gRPC services.")
    var server: String?

    @Option(help: "Data directory of the running system (to find its address).")
    var dataDir = ProcessInfo.processInfo.environment["BIZ_DATA_DIR"] ?? "./.biz-retail"

    func address() throws -> (host: String, port: Int) {
        let text =
            server ?? ProcessInfo.processInfo.environment["BIZ_GRPC_ADDRESS"] ?? recordedAddress() ?? "127.0.0.1:50051"
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (1...65535).contains(port), colon != text.startIndex
        else { throw ValidationError("the server address must be host:port, got '\(text)'") }
        return (String(text[..<colon]), port)
    }

    private func recordedAddress() -> String? {
        let file = URL(fileURLWithPath: dataDir).appendingPathComponent("endpoints.json")
        guard let data = try? Data(contentsOf: file),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        return object["grpc"] as? String
    }

    /// Runs `body` with a client connected to the system; turns RPC failures into a one-line error and exit 1.
    func withClient<T: Sendable>(_ body: (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> T) async throws -> T {
        let (host, port) = try address()
        do {
            return try await withGRPCClient(
                transport: .http2NIOPosix(target: .dns(host: host, port: port), transportSecurity: .plaintext)
            ) { client in
                try await body(client)
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
