import BizEvents
import Foundation
import JWTKit
import Logging
import Synchronization

/// Verifies access tokens against the Identity Provider's public keys (a JWK Set), fetched through `loadKeys` and
/// refreshed when a token names a key not seen yet (at most every 10 s).
///
/// A verified token is remembered until it expires, so the same bearer token presented again costs a dictionary
/// lookup instead of an ECDSA verification (every API request is verified by the gateway and again by the service).
///
/// Tokens of the ``ExternalIssuer``s (Keycloak realms) are accepted too: verified with their issuer's keys (from its
/// discovery document, through `fetch`), mapped onto a tenant and roles, and — once ``checkTenants(with:)`` is set —
/// refused when the tenant does not exist. A token of any other issuer is refused.
public final class TokenVerifier: Sendable {
    public let issuer: String
    public let audience: String
    private let keys: KeySet
    private let cache = Mutex(VerifiedTokens())
    private let externals: [String: ExternalVerifier]
    private let tenantCheck = Mutex<(@Sendable (String) async throws -> Bool)?>(nil)
    /// Tenants found to exist, and until when that is trusted.
    private let knownTenants = Mutex<[String: Date]>([:])

    public init(
        issuer: String, audience: String, externalIssuers: [ExternalIssuer] = [],
        fetch: @escaping @Sendable (String) async throws -> String = { _ in throw AuthError.unauthenticated("") },
        loadKeys: @escaping @Sendable () async throws -> String
    ) {
        self.issuer = issuer
        self.audience = audience
        self.keys = KeySet(loadKeys: loadKeys)
        self.externals = Dictionary(
            uniqueKeysWithValues: externalIssuers.map { ($0.issuer, ExternalVerifier(settings: $0, fetch: fetch)) })
    }

    /// How to tell whether an external token's tenant exists (the gateway asks the Client Contractor service).
    public func checkTenants(with check: @escaping @Sendable (String) async throws -> Bool) {
        tenantCheck.withLock { $0 = check }
    }

    /// The audience of the platform's API: every token of a user, or of a client outside the platform.
    public static let apiAudience = "biz-retail-api"

    /// Verifies signature, expiry, issuer and audience; returns who the token speaks for. The token must be for the
    /// API, or — with `receiver` — for that service (``ServiceAccount/audience(of:)``: a service account's token).
    public func verify(_ token: String, for receiver: String? = nil) async throws(AuthError) -> Principal {
        let principal = try await principal(of: token)
        guard principal.audiences.contains(audience) || receiver.map(principal.audiences.contains) == true else {
            throw .unauthenticated(
                receiver == nil ? "the token is not meant for this API" : "the token is not meant for this service")
        }
        return principal
    }

    private func principal(of token: String) async throws(AuthError) -> Principal {
        let now = Date()
        if let principal = cache.withLock({ $0.principal(for: token, at: now) }) { return principal }
        // A token naming one of this issuer's ES256 keys is this issuer's to verify; any other goes by its `iss`.
        if let payload = try keys.fast.withLock({ $0 }).verify(token, now: now) {
            guard payload["iss"]?.stringValue == issuer else {
                throw .unauthenticated("the token has the wrong issuer")
            }
            guard let principal = Principal(verified: payload),
                let expiry = payload["exp"].flatMap(ES256Verification.seconds)
            else { throw .unauthenticated("the token is not a valid JWT") }
            guard acceptsAudience(principal.audiences) else {
                throw .unauthenticated("the token has the wrong audience")
            }
            cache.withLock { $0.remember(token, principal, until: Date(timeIntervalSince1970: expiry), now: now) }
            return principal
        }
        if !externals.isEmpty, let claimed = KeySet.claim("iss", of: token), claimed != issuer {
            guard let external = externals[claimed] else {
                throw .unauthenticated("the token's issuer is not trusted")
            }
            let (principal, expiry) = try await external.verify(token)
            try await checkTenant(principal.tenantID, now: now)
            cache.withLock { $0.remember(token, principal, until: expiry, now: now) }
            return principal
        }
        let claims = try await claims(of: token)
        let principal = Principal(claims)
        cache.withLock { $0.remember(token, principal, until: claims.expiration.value, now: now) }
        return principal
    }

    /// An own token is for the API or for services (``ServiceAccount/audience(of:)``); which one is checked per use.
    func acceptsAudience(_ audiences: some Sequence<String>) -> Bool {
        audiences.contains { $0 == audience || ServiceAccount.isServiceAudience($0) }
    }

    private func checkTenant(_ tenant: String, now: Date) async throws(AuthError) {
        guard tenant != AuthInterceptor.platformTenant, let check = tenantCheck.withLock({ $0 }) else { return }
        if let until = knownTenants.withLock({ $0[tenant] }), until > now { return }
        let exists: Bool
        do {
            exists = try await check(tenant)
        } catch {
            throw .unauthenticated("the token's tenant cannot be checked now")
        }
        guard exists else { throw .unauthenticated("the token's tenant does not exist") }
        knownTenants.withLock {
            if $0.count > 10_000 { $0.removeAll() }
            $0[tenant] = now.addingTimeInterval(60)
        }
    }
}

/// One external issuer's keys and claim mapping.
final class ExternalVerifier: Sendable {
    let settings: ExternalIssuer
    private let keys: KeySet

    init(settings: ExternalIssuer, fetch: @escaping @Sendable (String) async throws -> String) {
        self.settings = settings
        self.keys = KeySet {
            var jwksURI = settings.jwksURI
            if jwksURI == nil {
                let discovery = try await fetch(
                    settings.issuer.trimmingSuffix("/") + "/.well-known/openid-configuration")
                let document = try JSONParser.parse(Array(discovery.utf8))
                guard document["issuer"]?.stringValue == settings.issuer,
                    let uri = document["jwks_uri"]?.stringValue, ExternalIssuer.isAllowed(uri)
                else { throw AuthError.unauthenticated("the issuer's discovery document is not usable") }
                jwksURI = uri
            }
            return try await fetch(jwksURI!)
        }
    }

    func verify(_ token: String) async throws(AuthError) -> (Principal, Date) {
        let claims = try await keys.verify(token, as: ExternalClaims.self)
        guard claims.issuer.value == settings.issuer else { throw .unauthenticated("the token has the wrong issuer") }
        guard let payload = KeySet.payload(of: token) else { throw .unauthenticated("the token is not a valid JWT") }
        return (try settings.principal(claims, payload: payload), claims.expiration.value)
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}

extension TokenVerifier {
    /// Verifies a token fully (no cache) and returns all its claims, for introspection.
    public func claims(of token: String) async throws(AuthError) -> AccessTokenClaims {
        let claims = try await keys.verify(token, as: AccessTokenClaims.self)
        guard claims.issuer.value == issuer else { throw .unauthenticated("the token has the wrong issuer") }
        guard acceptsAudience(claims.audience.value) else {
            throw .unauthenticated("the token has the wrong audience")
        }
        return claims
    }
}

/// Verified tokens and when they expire; bounded, dropping expired entries (or everything) when full.
struct VerifiedTokens {
    static let capacity = 50_000
    var entries: [String: (Principal, Date)] = [:]

    func principal(for token: String, at now: Date) -> Principal? {
        guard let (principal, expiry) = entries[token], expiry > now else { return nil }
        return principal
    }

    mutating func remember(_ token: String, _ principal: Principal, until expiry: Date, now: Date) {
        if entries.count >= Self.capacity {
            entries = entries.filter { $0.value.1 > now }
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
        }
        entries[token] = (principal, expiry)
    }
}

/// The public keys, loaded on first use and reloaded when a token names a key id not in the set, at most once per
/// 10 s of such reloads: a key rotation is picked up at once, a stream of made-up key ids costs one reload per 10 s.
/// A token without a key id, or with one still unknown after the reload, is refused: jwt-kit would otherwise verify
/// it with its default key, and never reload.
actor KeySet {
    private let loadKeys: @Sendable () async throws -> String
    private var collection: JWTKeyCollection?
    private var keyIDs: Set<String> = []
    /// The set's ES256 keys, for verification without a hop onto this actor; empty until the set first loads.
    nonisolated let fast = Mutex(ES256Verification())
    /// When a token's unknown key id last made the set reload.
    private var reloadedForUnknownKey: ContinuousClock.Instant?
    static let reloadInterval: Duration = .seconds(10)

    init(loadKeys: @escaping @Sendable () async throws -> String) {
        self.loadKeys = loadKeys
    }

    func verify<Payload: JWTPayload>(_ token: String, as type: Payload.Type) async throws(AuthError) -> Payload {
        guard let keyID = Self.keyID(of: token) else {
            throw .unauthenticated("the token names no signing key")
        }
        if collection == nil {
            try await reload()
        } else if !keyIDs.contains(keyID),
            reloadedForUnknownKey.map({ ContinuousClock.now - $0 >= Self.reloadInterval }) ?? true
        {
            reloadedForUnknownKey = .now
            try await reload()
        }
        guard let collection, keyIDs.contains(keyID) else {
            throw .unauthenticated("the token's signing key is unknown")
        }
        do {
            return try await collection.verify(token, as: type)
        } catch {
            throw Self.classify(error)
        }
    }

    private func reload() async throws(AuthError) {
        let fresh = JWTKeyCollection()
        let json: String
        do {
            json = Self.signingKeys(try await loadKeys())
            try await fresh.add(jwksJSON: json)
        } catch {
            throw AuthError.unauthenticated("the signing keys are unavailable")
        }
        collection = fresh
        fast.withLock { $0 = ES256Verification(jwks: json) }
        keyIDs = Set(
            (try? JSONParser.parse(Array(json.utf8)))?["keys"]?.arrayValue?.compactMap { $0["kid"]?.stringValue } ?? [])
    }

    /// The keys of a JWK Set that sign (an RSA or EC key, not one for encryption): an identity provider's set may
    /// hold others (Keycloak's `RSA-OAEP` key), which the key collection would refuse.
    static func signingKeys(_ json: String) -> String {
        guard let set = try? JSONParser.parse(Array(json.utf8)), let keys = set["keys"]?.arrayValue else { return json }
        let signing = keys.filter { key in
            key["use"]?.stringValue != "enc" && ["RSA", "EC"].contains(key["kty"]?.stringValue ?? "")
                && ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", nil].contains(key["alg"]?.stringValue)
        }
        return JSONValue.object(["keys": .array(signing)]).canonicalString()
    }

    /// A compact JWS's payload, decoded but not verified.
    static func payload(of token: String) -> JSONValue? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let data = Data(base64URL: parts[1]) else { return nil }
        return try? JSONParser.parse(Array(data))
    }

    /// A string claim of a token's payload, unverified (to choose which issuer verifies it).
    static func claim(_ name: String, of token: String) -> String? { payload(of: token)?[name]?.stringValue }

    /// The `kid` of a compact JWS's header, when it has one.
    static func keyID(of token: String) -> String? {
        guard let header = token.split(separator: ".", maxSplits: 1).first else { return nil }
        guard let data = Data(base64URL: header), let value = try? JSONParser.parse(Array(data)) else { return nil }
        return value["kid"]?.stringValue
    }

    static func classify(_ error: any Error) -> AuthError {
        guard let jwtError = error as? JWTError else { return .unauthenticated("the token is not a valid JWT") }
        switch jwtError.errorType {
        case .claimVerificationFailure: return .unauthenticated("the token has expired")
        case .signatureVerificationFailed: return .unauthenticated("the token's signature does not verify")
        case .unknownKID, .missingKIDHeader: return .unauthenticated("the token's signing key is unknown")
        default: return .unauthenticated("the token is not a valid JWT")
        }
    }
}
