import BizProtos
import BizTelemetry
import GRPCCore
import Synchronization

/// A service's identity at run time: its ``ServiceAccount``, the `client_credentials` token it authenticates its own
/// gRPC calls with, and the caller its own actions run as (a consumer, a scheduled job).
///
/// The token is renewed a minute before it expires (halfway through one shorter than two minutes). The common case,
/// a valid cached token, is a lock-protected read: no actor hop on every call. Concurrent renewals may race; each
/// yields a valid token and the last one is kept.
public final class ServiceIdentity: Sendable {
    public let account: ServiceAccount
    private let issue:
        @Sendable (Bizretail_Identity_V1_IssueTokenRequest) async throws -> Bizretail_Identity_V1_IssueTokenResponse
    private let cached = Mutex<(token: String, expiresAt: ContinuousClock.Instant)?>(nil)
    /// The account's secret, and the one it replaced while that may still be the only one the Identity Provider
    /// knows (it reads a rotated secret on its own interval).
    private let secrets: Mutex<(current: String, previous: String?, previousUntil: ContinuousClock.Instant)>

    /// - Parameter issue: the Identity Provider's token endpoint (its gRPC `IssueToken`).
    public init(
        account: ServiceAccount,
        issue:
            @escaping @Sendable (Bizretail_Identity_V1_IssueTokenRequest) async throws ->
            Bizretail_Identity_V1_IssueTokenResponse
    ) {
        self.account = account
        self.issue = issue
        self.secrets = Mutex((account.secret, nil, .now))
    }

    /// The account's secret rotated: tokens are asked with `secret` from now on, falling back on the previous one
    /// for `grace` while the Identity Provider refuses the new one. The token in hand stays valid until it expires.
    public func rotate(to secret: String, keepingPreviousFor grace: Duration) {
        secrets.withLock { secrets in
            guard secrets.current != secret else { return }
            secrets = (secret, secrets.current, .now + grace)
        }
    }

    /// The service's current access token.
    public func token() async throws -> String {
        let now = ContinuousClock.now
        if let token = cached.withLock({ $0.flatMap { now < $0.expiresAt ? $0.token : nil } }) { return token }
        let (secret, previous) = secrets.withLock { ($0.current, now < $0.previousUntil ? $0.previous : nil) }
        let response: Bizretail_Identity_V1_IssueTokenResponse
        do {
            response = try await issue(request(secret: secret))
        } catch let error as RPCError where error.code == .unauthenticated && previous != nil {
            // The Identity Provider has not read the rotated secret yet.
            response = try await issue(request(secret: previous!))
        }
        let lifetime = response.expiresIn
        let expiresAt = ContinuousClock.now + .seconds(lifetime > 120 ? lifetime - 60 : lifetime / 2)
        cached.withLock { $0 = (response.accessToken, expiresAt) }
        return response.accessToken
    }

    private func request(secret: String) -> Bizretail_Identity_V1_IssueTokenRequest {
        .with {
            $0.grantType = "client_credentials"
            $0.clientID = account.clientID
            $0.clientSecret = secret
        }
    }

    /// The metadata of a call to another service: always the service's own token (`x-biz-service-authorization`),
    /// which attests `x-biz-client-ip`; as `authorization`, the token of `caller` when the call is made on its behalf,
    /// else the service's own (it acts on its own).
    public func metadata(onBehalfOf caller: Caller?) async throws -> Metadata {
        let own = try await token()
        var metadata = Metadata()
        metadata.addString("Bearer \(caller?.credentials?.bearer ?? own)", forKey: CallMetadata.authorization)
        metadata.addString("Bearer \(own)", forKey: CallMetadata.serviceAuthorization)
        metadata.addString(caller?.clientIP ?? Self.ownAddress, forKey: CallMetadata.clientIP)
        return metadata
    }

    /// Who the service is when it acts on its own: its account's public id, role and tenant, `owner_type = service`.
    public var principal: Principal {
        Principal(
            subject: account.publicID, tenantID: AuthInterceptor.platformTenant, roles: [account.role],
            scopes: [AuthInterceptor.apiScope], ownerType: "service", tokenID: "",
            audiences: Set(account.audiences))
    }

    /// The caller of what the service does on its own, in a new trace unless `traceID` is given; its calls to other
    /// services carry its own token.
    public func caller(traceID: String = TraceContext.random().traceID) async throws -> Caller {
        Caller(
            principal: principal, clientIP: Self.ownAddress, traceID: traceID,
            credentials: .init(bearer: try await token()))
    }

    /// The `owner_ip` of what a service does on its own.
    public static let ownAddress = "127.0.0.1"
}
