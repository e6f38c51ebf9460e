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
public final class TokenVerifier: Sendable {
    public let issuer: String
    public let audience: String
    private let keys: KeySet
    private let cache = Mutex(VerifiedTokens())

    public init(issuer: String, audience: String, loadKeys: @escaping @Sendable () async throws -> String) {
        self.issuer = issuer
        self.audience = audience
        self.keys = KeySet(loadKeys: loadKeys)
    }

    /// Verifies signature, expiry, issuer and audience; returns who the token speaks for.
    public func verify(_ token: String) async throws(AuthError) -> Principal {
        let now = Date()
        if let principal = cache.withLock({ $0.principal(for: token, at: now) }) { return principal }
        let claims = try await claims(of: token)
        let principal = Principal(claims)
        cache.withLock { $0.remember(token, principal, until: claims.expiration.value, now: now) }
        return principal
    }
}

extension TokenVerifier {
    /// Verifies a token fully (no cache) and returns all its claims, for introspection.
    public func claims(of token: String) async throws(AuthError) -> AccessTokenClaims {
        let claims = try await keys.verify(token)
        guard claims.issuer.value == issuer else { throw .unauthenticated("the token has the wrong issuer") }
        guard claims.audience.value.contains(audience) else {
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
    /// When a token's unknown key id last made the set reload.
    private var reloadedForUnknownKey: ContinuousClock.Instant?
    static let reloadInterval: Duration = .seconds(10)

    init(loadKeys: @escaping @Sendable () async throws -> String) {
        self.loadKeys = loadKeys
    }

    func verify(_ token: String) async throws(AuthError) -> AccessTokenClaims {
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
            return try await collection.verify(token, as: AccessTokenClaims.self)
        } catch {
            throw Self.classify(error)
        }
    }

    private func reload() async throws(AuthError) {
        let fresh = JWTKeyCollection()
        let json: String
        do {
            json = try await loadKeys()
            try await fresh.add(jwksJSON: json)
        } catch {
            throw AuthError.unauthenticated("the signing keys are unavailable")
        }
        collection = fresh
        keyIDs = Set(
            (try? JSONParser.parse(Array(json.utf8)))?["keys"]?.arrayValue?.compactMap { $0["kid"]?.stringValue } ?? [])
    }

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
