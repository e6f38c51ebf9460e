import APIGateway
import Foundation
import Hummingbird
import HummingbirdHTTP2
import Logging
import NIOCore

/// The ceiling for the gateway benchmark: a bare Hummingbird HTTPS endpoint (same TLS and HTTP/2-upgrade set-up as
/// the gateway) answering every GET with a fixed JSON body of the given size.
func bareHTTPS(_ arguments: ArraySlice<String>) async throws {
    var port = 9443
    var bodyBytes = 300
    var directory = FileManager.default.temporaryDirectory.appendingPathComponent("biz-bench-tls")
    var iterator = arguments.makeIterator()
    while let argument = iterator.next() {
        switch argument {
        case "--port": port = Int(iterator.next() ?? "") ?? port
        case "--body-bytes": bodyBytes = Int(iterator.next() ?? "") ?? bodyBytes
        case "--dir": directory = URL(fileURLWithPath: iterator.next() ?? directory.path)
        default: throw BenchError("unknown option \(argument)")
        }
    }
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let tls = try TLSFiles.resolve(certificate: nil, privateKey: nil, directory: directory)
    let padding = String(repeating: "x", count: max(0, bodyBytes - 12))
    let body = ByteBuffer(string: #"{"name":"\#(padding)"}"#)
    let router = Router()
    router.get("/**") { _, _ in
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
    }
    var logger = Logger(label: "bare-https")
    logger.logLevel = .warning
    let app = Application(
        router: router, server: try .http2Upgrade(tlsConfiguration: try tls.serverConfiguration()),
        configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: logger
    )
    print("bare HTTPS endpoint on https://127.0.0.1:\(port) (\(body.readableBytes)-byte JSON body)")
    try await app.runService()
}
