import APIGateway
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import Hummingbird
import HummingbirdHTTP2
import Logging
import NIOCore
import SwiftProtobuf

/// The distributed gateway's floor: the bare HTTPS endpoint of `bare-https`, but every GET first makes one bare
/// grpc-swift unary call over loopback HTTP/2 to a trivial service (`trivial-grpc`, another process) and answers with
/// the bytes it returned. No auth, no metadata, no storage: the transport's own cost per request.
func bareGRPCHopHTTPS(_ arguments: ArraySlice<String>) async throws {
    var port = 9444
    var grpcPort = 19061
    var directory = FileManager.default.temporaryDirectory.appendingPathComponent("biz-bench-tls")
    var iterator = arguments.makeIterator()
    while let argument = iterator.next() {
        switch argument {
        case "--port": port = Int(iterator.next() ?? "") ?? port
        case "--grpc-port": grpcPort = Int(iterator.next() ?? "") ?? grpcPort
        case "--dir": directory = URL(fileURLWithPath: iterator.next() ?? directory.path)
        default: throw BenchError("unknown option \(argument)")
        }
    }
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let tls = try TLSFiles.resolve(certificate: nil, privateKey: nil, directory: directory)
    let client = GRPCClient(
        transport: try .http2NIOPosix(
            target: .ipv4(address: "127.0.0.1", port: grpcPort), transportSecurity: .plaintext))
    let router = Router()
    router.get("/**") { _, _ in
        let bytes = try await client.unary(
            request: ClientRequest(message: Google_Protobuf_Empty()), descriptor: TrivialService.method,
            serializer: ProtobufSerializer<Google_Protobuf_Empty>(),
            deserializer: ProtobufDeserializer<Google_Protobuf_BytesValue>(), options: .defaults
        ) { response in try response.message.value }
        return Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
    var logger = Logger(label: "bare-grpc-hop")
    logger.logLevel = .warning
    let app = Application(
        router: router, server: try .http2Upgrade(tlsConfiguration: try tls.serverConfiguration()),
        configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: logger
    )
    print("bare HTTPS endpoint with one gRPC hop on https://127.0.0.1:\(port) → 127.0.0.1:\(grpcPort)")
    try await withThrowingDiscardingTaskGroup { group in
        group.addTask { try await client.runConnections() }
        try await app.runService()
        client.beginGracefulShutdown()
    }
}

/// `trivial-grpc`: the other end of the hop, answering `bench.Trivial/Get` with a fixed JSON body.
func trivialGRPC(_ arguments: ArraySlice<String>) async throws {
    var port = 19061
    var bodyBytes = 300
    var iterator = arguments.makeIterator()
    while let argument = iterator.next() {
        switch argument {
        case "--port": port = Int(iterator.next() ?? "") ?? port
        case "--body-bytes": bodyBytes = Int(iterator.next() ?? "") ?? bodyBytes
        default: throw BenchError("unknown option \(argument)")
        }
    }
    let padding = String(repeating: "x", count: max(0, bodyBytes - 12))
    let server = GRPCServer(
        transport: HTTP2ServerTransport.Posix(
            address: .ipv4(host: "127.0.0.1", port: port), transportSecurity: .plaintext),
        services: [TrivialService(body: Data(#"{"name":"\#(padding)"}"#.utf8))])
    print("trivial gRPC service on 127.0.0.1:\(port)")
    try await server.serve()
}

/// One unary method with no logic.
struct TrivialService: RegistrableRPCService {
    static let method = MethodDescriptor(fullyQualifiedService: "bench.Trivial", method: "Get")
    let body: Data

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        let body = self.body
        router.registerHandler(
            forMethod: Self.method, deserializer: ProtobufDeserializer<Google_Protobuf_Empty>(),
            serializer: ProtobufSerializer<Google_Protobuf_BytesValue>()
        ) { request, _ in
            for try await _ in request.messages {}
            return StreamingServerResponse(single: ServerResponse(message: .with { $0.value = body }))
        }
    }
}
