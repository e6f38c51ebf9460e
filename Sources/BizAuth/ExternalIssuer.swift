import BizEvents
import Foundation
import JWTKit

/// An OpenID Connect provider whose access tokens the platform accepts besides its own (a Keycloak realm), from
/// `BIZ_EXTERNAL_ISSUERS`: where its keys are, whom its tokens must be for, and how its claims become a tenant and
/// roles.
public struct ExternalIssuer: Sendable, Hashable {
    /// `iss` exactly (Keycloak: `https://host/realms/<realm>`).
    public var issuer: String
    /// An `aud` the token must hold.
    public var audience: String
    /// Where the keys are; when nil, the `jwks_uri` of the issuer's discovery document.
    public var jwksURI: String?
    /// Whose `resource_access.<client>.roles` count (default: the audience).
    public var client: String?
    /// The claim holding the tenant (a dotted path reads nested objects), unless ``tenantID`` fixes it.
    public var tenantClaim: String
    /// Every token of this issuer acts in this tenant (a realm per tenant); `platform` makes its users platform users.
    public var tenantID: String?
    /// External role names and the platform roles they grant (`admin`, `manager`, `viewer` map to themselves
    /// unless listed).
    public var roles: [String: String]

    public init(
        issuer: String, audience: String, jwksURI: String? = nil, client: String? = nil,
        tenantClaim: String = "tenant_id", tenantID: String? = nil, roles: [String: String] = [:]
    ) {
        self.issuer = issuer
        self.audience = audience
        self.jwksURI = jwksURI
        self.client = client
        self.tenantClaim = tenantClaim
        self.tenantID = tenantID
        self.roles = roles
    }

    static let platformRoles: Set<String> = ["admin", "manager", "viewer"]

    /// The issuers of a `BIZ_EXTERNAL_ISSUERS` value: a JSON array of objects with `issuer`, `audience` and optionally
    /// `jwks_uri`, `client`, `tenant_claim`, `tenant_id` and `roles` (an object of external → platform role).
    public static func parse(_ text: String) throws(ExternalIssuerSettingError) -> [ExternalIssuer] {
        guard let value = try? JSONParser.parse(Array(text.utf8)), case .array(let entries) = value else {
            throw .invalid("BIZ_EXTERNAL_ISSUERS must be a JSON array of issuers")
        }
        var issuers: [ExternalIssuer] = []
        for (index, entry) in entries.enumerated() {
            let name = "BIZ_EXTERNAL_ISSUERS[\(index)]"
            guard case .object(let fields) = entry else { throw .invalid("\(name) must be an object") }
            let known: Set = ["issuer", "audience", "jwks_uri", "client", "tenant_claim", "tenant_id", "roles"]
            if let unknown = fields.keys.sorted().first(where: { !known.contains($0) }) {
                throw .invalid("\(name).\(unknown) is not a setting of an issuer")
            }
            func text(_ key: String) throws(ExternalIssuerSettingError) -> String? {
                guard let field = fields[key] else { return nil }
                guard case .string(let value) = field, !value.isEmpty else {
                    throw .invalid("\(name).\(key) must be a non-empty string")
                }
                return value
            }
            guard let issuer = try text("issuer"), let audience = try text("audience") else {
                throw .invalid("\(name) needs issuer and audience")
            }
            for (key, url) in [("issuer", issuer), ("jwks_uri", try text("jwks_uri"))] {
                guard let url else { continue }
                guard Self.isAllowed(url) else {
                    throw .invalid("\(name).\(key) must be an https URL (or http on a loopback host)")
                }
            }
            var roles: [String: String] = [:]
            if let mapping = fields["roles"] {
                guard case .object(let pairs) = mapping else { throw .invalid("\(name).roles must be an object") }
                for (external, platform) in pairs {
                    guard case .string(let role) = platform, platformRoles.contains(role) else {
                        throw .invalid("\(name).roles.\(external) must be admin, manager or viewer")
                    }
                    roles[external] = role
                }
            }
            let tenantID = try text("tenant_id")?.lowercased()
            if let tenantID, tenantID != "platform", !EventID.isUUID(tenantID) {
                throw .invalid("\(name).tenant_id must be platform or a tenant's id")
            }
            issuers.append(
                ExternalIssuer(
                    issuer: issuer, audience: audience, jwksURI: try text("jwks_uri"), client: try text("client"),
                    tenantClaim: try text("tenant_claim") ?? "tenant_id", tenantID: tenantID, roles: roles))
        }
        guard Set(issuers.map(\.issuer)).count == issuers.count else {
            throw .invalid("BIZ_EXTERNAL_ISSUERS names an issuer twice")
        }
        return issuers
    }

    static func isAllowed(_ url: String) -> Bool {
        guard let components = URLComponents(string: url), let host = components.host?.lowercased(), !host.isEmpty
        else { return false }
        switch components.scheme?.lowercased() {
        case "https": return true
        case "http": return ["localhost", "127.0.0.1", "::1"].contains(host)
        default: return false
        }
    }

    /// Who the verified `claims` (and the token's raw payload) speak for, or why they speak for no one.
    func principal(_ claims: ExternalClaims, payload: JSONValue) throws(AuthError) -> Principal {
        guard claims.audience.value.contains(audience) else {
            throw .unauthenticated("the token has the wrong audience")
        }
        if let type = claims.type, type.lowercased() != "bearer" {
            throw .unauthenticated("the token is not an access token")
        }
        let tenant: String
        if let tenantID {
            tenant = tenantID
        } else {
            var value: JSONValue? = payload
            for part in tenantClaim.split(separator: ".") { value = value?[String(part)] }
            guard let claimed = value?.stringValue?.lowercased(), EventID.isUUID(claimed) else {
                throw .unauthenticated("the token names no tenant in \(tenantClaim)")
            }
            tenant = claimed
        }
        var external = claims.realmAccess?.roles ?? []
        external += claims.resourceAccess?[client ?? audience]?.roles ?? []
        var granted: [String] = []
        for role in external {
            guard let platform = roles[role] ?? (Self.platformRoles.contains(role) ? role : nil),
                !granted.contains(platform)
            else { continue }
            granted.append(platform)
        }
        // The token is for this API (its audience), so it carries the API's scope.
        var scopes = Set((claims.scope ?? "").split(separator: " ").map(String.init))
        scopes.insert("api")
        return Principal(
            subject: claims.subject.value, tenantID: tenant, roles: granted, scopes: scopes, ownerType: "user",
            tokenID: claims.id?.value ?? claims.subject.value)
    }
}

/// A `BIZ_EXTERNAL_ISSUERS` value the platform cannot use, and why.
public struct ExternalIssuerSettingError: Error, Sendable, CustomStringConvertible {
    public var description: String

    static func invalid(_ description: String) -> ExternalIssuerSettingError { .init(description: description) }
}

/// The claims of a Keycloak-shaped access token that the mapping reads.
struct ExternalClaims: JWTPayload {
    struct Access: Codable, Sendable {
        var roles: [String]?
    }

    var issuer: IssuerClaim
    var subject: SubjectClaim
    var audience: AudienceClaim
    var expiration: ExpirationClaim
    var notBefore: NotBeforeClaim?
    var id: IDClaim?
    var type: String?
    var scope: String?
    var realmAccess: Access?
    var resourceAccess: [String: Access]?

    enum CodingKeys: String, CodingKey {
        case issuer = "iss"
        case subject = "sub"
        case audience = "aud"
        case expiration = "exp"
        case notBefore = "nbf"
        case id = "jti"
        case type = "typ"
        case scope
        case realmAccess = "realm_access"
        case resourceAccess = "resource_access"
    }

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try expiration.verifyNotExpired()
        try notBefore?.verifyNotBefore()
    }
}
