import Foundation
import Hummingbird
import Logging
import NIOCore

/// A collector stand-in for the telemetry benchmark: accepts OTLP/HTTP (protobuf) exports and discards them without
/// parsing, so the benchmark measures what tracing costs the platform's process, not the CPU a receiver on the same
/// two cores takes (a collector runs elsewhere in production). Answers the empty `Export…ServiceResponse` (zero bytes).
func otlpSink(_ arguments: ArraySlice<String>) async throws {
    var port = 4318
    var iterator = arguments.makeIterator()
    while let argument = iterator.next() {
        switch argument {
        case "--port": port = Int(iterator.next() ?? "") ?? port
        default: throw BenchError("unknown option \(argument)")
        }
    }
    let router = Router()
    router.post("/v1/{signal}") { request, _ in
        _ = try await request.body.collect(upTo: 64 << 20)
        return Response(status: .ok, headers: [.contentType: "application/x-protobuf"], body: .init())
    }
    var logger = Logger(label: "otlp-sink")
    logger.logLevel = .warning
    let app = Application(
        router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: logger)
    // Unbuffered, so a script waiting for the line sees it at once.
    FileHandle.standardError.write(Data("OTLP/HTTP sink on http://127.0.0.1:\(port)\n".utf8))
    try await app.runService()
}
