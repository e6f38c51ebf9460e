import Foundation
import GRPCCore
import NIOCore
import ServiceLifecycle

/// A listener of the process (the gateway, gRPC, `/metrics`) whose failure to bind names what it is and where:
/// "cannot listen for gRPC on 127.0.0.1:15051: Address already in use", where NIO's own error names neither
/// (`bind(descriptor:ptr:bytes:): …`), and grpc-swift's wraps it in "Server transport threw an error".
struct ListenerService<Base: Service>: Service {
    var base: Base
    /// What listens ("HTTPS", "gRPC", "metrics").
    var what: String
    var address: String

    func run() async throws {
        do {
            try await base.run()
        } catch {
            guard let failure = Self.systemError(in: error) else { throw error }
            throw RuntimeError(
                "cannot listen for \(what) on \(address): \(String(cString: strerror(failure.errnoCode)))")
        }
    }

    /// The system call's error under `error`, through grpc-swift's causes.
    static func systemError(in error: any Error) -> IOError? {
        if let failure = error as? IOError { return failure }
        if let wrapped = error as? GRPCCore.RuntimeError, let cause = wrapped.cause { return systemError(in: cause) }
        return nil
    }
}
