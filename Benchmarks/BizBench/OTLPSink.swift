import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A collector stand-in for the telemetry benchmark: accepts OTLP/HTTP (protobuf) exports and discards them without
/// parsing, so the benchmark measures what tracing costs the platform's process, not the CPU a receiver on the same
/// two cores takes (a collector runs elsewhere in production). Answers the empty `Export…ServiceResponse` (zero bytes).
///
/// A plain NIO HTTP/1.1 pipeline whose handler drops each body part as it is decoded, on the event loop: the same
/// sink on Hummingbird, whose request body is an async sequence (a task wake-up per part), took about 4 µs of CPU per
/// traced request of the gateway it shared the two cores with; this one takes about a quarter of that.
func otlpSink(_ arguments: ArraySlice<String>) async throws {
    var port = 4318
    var iterator = arguments.makeIterator()
    while let argument = iterator.next() {
        switch argument {
        case "--port": port = Int(iterator.next() ?? "") ?? port
        default: throw BenchError("unknown option \(argument)")
        }
    }
    let group = MultiThreadedEventLoopGroup.singleton
    let channel = try await ServerBootstrap(group: group)
        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        .childChannelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                try channel.pipeline.syncOperations.addHandler(DiscardingExportHandler())
            }
        }
        .bind(host: "127.0.0.1", port: port).get()
    // Unbuffered, so a script waiting for the line sees it at once.
    FileHandle.standardError.write(Data("OTLP/HTTP sink on http://127.0.0.1:\(port)\n".utf8))
    try await channel.closeFuture.get()
}

/// Answers every request with `200` and an empty protobuf body once its last part is read.
private final class DiscardingExportHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .end = unwrapInboundIn(data) else { return }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/x-protobuf")
        headers.add(name: "Content-Length", value: "0")
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}
