import BizAuth
import BizProtos
import GRPCCore
import Synchronization
import Testing

/// A service's own identity asks its tokens with its account's secret; once that secret rotated, it falls back on
/// the previous one while the Identity Provider has not read the new one yet.
@Suite("Service identity")
struct ServiceIdentityTests {
    /// An Identity Provider that knows one secret at a time, counting the requests it refused.
    final class Provider: Sendable {
        let known: Mutex<String>
        let refused = Mutex(0)

        init(knows secret: String) { known = Mutex(secret) }

        func issue(_ request: Bizretail_Identity_V1_IssueTokenRequest) throws
            -> Bizretail_Identity_V1_IssueTokenResponse
        {
            guard request.clientSecret == known.withLock({ $0 }) else {
                refused.withLock { $0 += 1 }
                throw RPCError(code: .unauthenticated, message: "invalid_client: client authentication failed")
            }
            // A token that expires at once, so that every call asks a new one.
            return .with {
                $0.accessToken = "token-for-" + request.clientSecret
                $0.expiresIn = 0
            }
        }
    }

    @Test(
        "a rotated secret is used from then on, the previous one only while the provider refuses the new one and the grace period lasts"
    )
    func rotation() async throws {
        let provider = Provider(knows: "old-secret")
        let identity = ServiceIdentity(
            account: ServiceAccount(service: "gateway", calls: ["team"], secret: "old-secret"),
            issue: { try provider.issue($0) })
        #expect(try await identity.token() == "token-for-old-secret")

        // The service read the new secret first: the provider still knows only the old one.
        identity.rotate(to: "new-secret", keepingPreviousFor: .seconds(60))
        #expect(try await identity.token() == "token-for-old-secret")
        #expect(provider.refused.withLock { $0 } == 1)

        // The provider read it too.
        provider.known.withLock { $0 = "new-secret" }
        #expect(try await identity.token() == "token-for-new-secret")

        // Past the grace period, the previous secret is not tried.
        identity.rotate(to: "newer-secret", keepingPreviousFor: .zero)
        let error = await #expect(throws: RPCError.self) { try await identity.token() }
        #expect(error?.code == .unauthenticated)
    }
}
