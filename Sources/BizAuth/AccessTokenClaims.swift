import Foundation
import JWTKit

/// The claims of a Biz Retail access token (a JWT signed with ES256).
public struct AccessTokenClaims: JWTPayload, Equatable {
    public var issuer: IssuerClaim
    public var subject: SubjectClaim
    public var audience: AudienceClaim
    public var expiration: ExpirationClaim
    public var issuedAt: IssuedAtClaim
    public var id: IDClaim
    public var tenantID: String
    public var roles: [String]
    public var scope: String
    public var ownerType: String

    enum CodingKeys: String, CodingKey {
        case issuer = "iss"
        case subject = "sub"
        case audience = "aud"
        case expiration = "exp"
        case issuedAt = "iat"
        case id = "jti"
        case tenantID = "tenant_id"
        case roles
        case scope
        case ownerType = "owner_type"
    }

    public init(
        issuer: String, subject: String, audience: [String], issuedAt: Date, lifetime: TimeInterval, id: String,
        tenantID: String, roles: [String], scope: String, ownerType: String
    ) {
        self.issuer = .init(value: issuer)
        self.subject = .init(value: subject)
        self.audience = .init(value: audience)
        // NumericDate in whole seconds (RFC 7519 allows fractions; whole seconds are what every verifier expects).
        let issued = Date(timeIntervalSince1970: issuedAt.timeIntervalSince1970.rounded(.down))
        self.issuedAt = .init(value: issued)
        self.expiration = .init(value: issued.addingTimeInterval(lifetime))
        self.id = .init(value: id)
        self.tenantID = tenantID
        self.roles = roles
        self.scope = scope
        self.ownerType = ownerType
    }

    public func verify(using algorithm: some JWTAlgorithm) async throws {
        try expiration.verifyNotExpired()
    }
}

/// Who is calling, as proven by a verified access token.
public struct Principal: Sendable, Hashable {
    public var subject: String
    public var tenantID: String
    public var roles: [String]
    public var scopes: Set<String>
    /// `user` or `service`.
    public var ownerType: String
    public var tokenID: String
    /// Whom the token is for: the API (`biz-retail-api`), or the services a service account calls
    /// (``ServiceAccount/audience(of:)``).
    public var audiences: Set<String>

    public init(
        subject: String, tenantID: String, roles: [String], scopes: Set<String>, ownerType: String, tokenID: String,
        audiences: Set<String> = [TokenVerifier.apiAudience]
    ) {
        self.subject = subject
        self.tenantID = tenantID
        self.roles = roles
        self.scopes = scopes
        self.ownerType = ownerType
        self.tokenID = tokenID
        self.audiences = audiences
    }

    public init(_ claims: AccessTokenClaims) {
        self.init(
            subject: claims.subject.value, tenantID: claims.tenantID, roles: claims.roles,
            scopes: Set(claims.scope.split(separator: " ").map(String.init)), ownerType: claims.ownerType,
            tokenID: claims.id.value, audiences: Set(claims.audience.value)
        )
    }

    /// A platform service's own token (``ServiceAccount``): a service of the platform tenant, meant for services.
    public var isServiceAccount: Bool {
        ownerType == "service" && tenantID == AuthInterceptor.platformTenant
            && audiences.contains(where: ServiceAccount.isServiceAudience)
    }

    /// The role recorded as `owner_role` in events: the first of the token's roles.
    public var primaryRole: String { roles.first ?? "none" }

    public func has(role: String) -> Bool { roles.contains(role) }
}
