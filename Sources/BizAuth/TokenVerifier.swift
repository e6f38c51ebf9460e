import Foundation
import JWTKit
import Logging

/// Verifies access tokens against the Identity Provider's public keys (a JWK Set), fetched through `loadKeys` and
/// refreshed when a token names a key not seen yet (at most every 10 s).
public actor TokenVerifier {
    public let issuer: String
    public let audience: String
    private let loadKeys: @Sendable () async throws -> String
    private var keys: JWTKeyCollection?
    private var loadedAt: ContinuousClock.Instant?

    public init(issuer: String, audience: String, loadKeys: @escaping @Sendable () async throws -> String) {
        self.issuer = issuer
        self.audience = audience
        self.loadKeys = loadKeys
    }

    /// Verifies signature, expiry, issuer and audience; returns who the token speaks for.
    public func verify(_ token: String) async throws(AuthError) -> Principal {
        do {
            return try await verifyOnce(token, refreshing: keys == nil)
        } catch let error as AuthError {
            throw error
        } catch let error as JWTError where error.errorType == .missingKIDHeader || error.errorType == .unknownKID {
            let stale = loadedAt.map { ContinuousClock.now - $0 > .seconds(10) } ?? true
            guard stale else { throw .unauthenticated("the token's signing key is unknown") }
            do {
                return try await verifyOnce(token, refreshing: true)
            } catch let error as AuthError {
                throw error
            } catch {
                throw Self.classify(error)
            }
        } catch {
            throw Self.classify(error)
        }
    }

    private func verifyOnce(_ token: String, refreshing: Bool) async throws -> Principal {
        if refreshing {
            let collection = JWTKeyCollection()
            do {
                try await collection.add(jwksJSON: try await loadKeys())
            } catch {
                throw AuthError.unauthenticated("the signing keys are unavailable")
            }
            keys = collection
            loadedAt = .now
        }
        guard let keys else { throw AuthError.unauthenticated("the signing keys are unavailable") }
        let claims = try await keys.verify(token, as: AccessTokenClaims.self)
        guard claims.issuer.value == issuer else { throw AuthError.unauthenticated("the token has the wrong issuer") }
        guard claims.audience.value.contains(audience) else {
            throw AuthError.unauthenticated("the token has the wrong audience")
        }
        return Principal(claims)
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
