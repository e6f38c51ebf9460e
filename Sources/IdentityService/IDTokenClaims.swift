import BizAuth
import Crypto
import Foundation
import JWTKit

/// An OpenID Connect ID token (Core §2): who signed in, when, for which client; signed like the access tokens.
struct IDTokenClaims: JWTPayload, Equatable {
    var issuer: IssuerClaim
    var subject: SubjectClaim
    var audience: AudienceClaim
    var expiration: ExpirationClaim
    var issuedAt: IssuedAtClaim
    var authTime: Int64
    var nonce: String?
    var accessTokenHash: String
    var authorizedParty: String
    var tenantID: String
    var email: String?
    var name: String?

    enum CodingKeys: String, CodingKey {
        case issuer = "iss"
        case subject = "sub"
        case audience = "aud"
        case expiration = "exp"
        case issuedAt = "iat"
        case authTime = "auth_time"
        case nonce
        case accessTokenHash = "at_hash"
        case authorizedParty = "azp"
        case tenantID = "tenant_id"
        case email
        case name
    }

    /// Only the signature: an ID token presented as `id_token_hint` may have expired (RP-Initiated Logout §2).
    func verify(using algorithm: some JWTAlgorithm) async throws {}

    /// `at_hash` (Core §3.1.3.6): the left half of the access token's SHA-256, base64url.
    static func hash(ofAccessToken token: String) -> String {
        Data(SHA256.hash(data: Data(token.utf8)).prefix(16)).base64URLEncodedString
    }
}
