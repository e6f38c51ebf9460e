import Synchronization

/// Where the token verifier gets the signing keys: the Identity Provider's store when it runs in this process, else
/// its `GetSigningKeys` over gRPC. Set while the process is assembled, read when the first token is verified.
final class SigningKeySource: Sendable {
    private let load = Mutex<(@Sendable () async throws -> String)?>(nil)

    func set(_ loader: @escaping @Sendable () async throws -> String) { load.withLock { $0 = loader } }

    func jwks() async throws -> String {
        guard let loader = load.withLock({ $0 }) else { throw RuntimeError("no source of signing keys") }
        return try await loader()
    }
}
