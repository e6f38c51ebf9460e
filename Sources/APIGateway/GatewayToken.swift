import BizProtos
import Synchronization

/// Keeps the gateway's own access token fresh (renewed a minute before it expires). The common case, a valid cached
/// token, is a lock-protected read: no actor hop on every request.
final class GatewayToken: Sendable {
    let clientID: String
    let secret: String
    private let cached = Mutex<(token: String, expiresAt: ContinuousClock.Instant)?>(nil)

    init(clientID: String, secret: String) {
        self.clientID = clientID
        self.secret = secret
    }

    func current(
        issue: (Bizretail_Identity_V1_IssueTokenRequest) async throws -> Bizretail_Identity_V1_IssueTokenResponse
    ) async throws -> String {
        let now = ContinuousClock.now
        if let token = cached.withLock({ $0.flatMap { now < $0.expiresAt ? $0.token : nil } }) { return token }
        // Concurrent renewals may race; each yields a valid token and the last one is kept.
        let response = try await issue(
            .with {
                $0.grantType = "client_credentials"
                $0.clientID = clientID
                $0.clientSecret = secret
            }
        )
        // A minute before it expires (halfway through a token shorter than two minutes).
        let lifetime = response.expiresIn
        let expiresAt = ContinuousClock.now + .seconds(lifetime > 120 ? lifetime - 60 : lifetime / 2)
        cached.withLock { $0 = (response.accessToken, expiresAt) }
        return response.accessToken
    }
}
