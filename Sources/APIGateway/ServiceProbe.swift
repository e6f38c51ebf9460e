import GRPCCore
import GRPCProtobuf
import SwiftProtobuf

/// A readiness probe of one service: a call of a cheap method without credentials. Any answer but UNAVAILABLE or a
/// timeout (UNAUTHENTICATED, normally) means the service is up.
public struct ServiceProbe<Transport: ClientTransport>: Sendable {
    public var name: String
    public var method: MethodDescriptor
    public var client: GRPCClient<Transport>

    public init(name: String, method: MethodDescriptor, client: GRPCClient<Transport>) {
        self.name = name
        self.method = method
        self.client = client
    }

    func isReachable() async -> Bool {
        var options = CallOptions.defaults
        options.timeout = .seconds(2)
        options.waitForReady = false
        do {
            // An empty message is valid for every protobuf request type.
            try await client.unary(
                request: ClientRequest(message: Google_Protobuf_Empty()), descriptor: method,
                serializer: ProtobufSerializer<Google_Protobuf_Empty>(),
                deserializer: ProtobufDeserializer<Google_Protobuf_Empty>(), options: options
            ) { _ in }
            return true
        } catch let error as RPCError {
            return error.code != .unavailable && error.code != .deadlineExceeded
        } catch {
            return false
        }
    }
}
