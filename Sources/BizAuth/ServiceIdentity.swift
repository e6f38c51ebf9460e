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

    /// - Parameter issue: the Identity Provider's token endpoint (its gRPC `IssueToken`).
    public init(
        account: ServiceAccount,
        issue:
            @escaping @Sendable (Bizretail_Identity_V1_IssueTokenRequest) async throws ->
            Bizretail_Identity_V1_IssueTokenResponse
    ) {
        self.account = account
        self.issue = issue
    }

    /// The service's current access token.
    public func token() async throws -> String {
        let now = ContinuousClock.now
        if let token = cached.withLock({ $0.flatMap { now < $0.expiresAt ? $0.token : nil } }) { return token }
        let response = try await issue(
            .with {
                $0.grantType = "client_credentials"
                $0.clientID = account.clientID
                $0.clientSecret = account.secret
            }
        )
        let lifetime = response.expiresIn
        let expiresAt = ContinuousClock.now + .seconds(lifetime > 120 ? lifetime - 60 : lifetime / 2)
        cached.withLock { $0 = (response.accessToken, expiresAt) }
        return response.accessToken
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
