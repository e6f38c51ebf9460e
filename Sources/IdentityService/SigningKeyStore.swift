import BizAuth
import BizEvents
import BizStorage
import Crypto
import Foundation
import JWTKit
import SQLKit

/// The ES256 signing keys: created on first use, stored with the private key sealed by the master key.
public actor SigningKeyStore {
    let store: any SQLStore
    let masterKey: MasterKey
    private var current: (kid: String, key: ES256PrivateKey)?
    private let signer = JWTKeyCollection()

    public init(store: any SQLStore, masterKey: MasterKey) {
        self.store = store
        self.masterKey = masterKey
    }

    /// The active key, creating one when none exists.
    func active() async throws -> (kid: String, key: ES256PrivateKey) {
        if let current { return current }
        let row = try await store.read { database in
            try await database.raw(
                "SELECT kid, sealed_private_key FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC LIMIT 1"
            ).first()
        }
        let kid: String
        let privateKey: P256.Signing.PrivateKey
        if let row {
            kid = try row.decode(column: "kid", as: String.self)
            let sealed = try row.decode(column: "sealed_private_key", as: Data.self)
            do {
                privateKey = try P256.Signing.PrivateKey(rawRepresentation: try masterKey.open(sealed))
            } catch {
                throw IdentityError.misconfigured(
                    "the signing key cannot be decrypted: is BIZ_MASTER_KEY the key it was created with?"
                )
            }
        } else {
            privateKey = P256.Signing.PrivateKey()
            kid = EventID.generate()
            let sealed = try masterKey.seal(privateKey.rawRepresentation)
            try await store.transaction { database in
                try await database.raw(
                    """
                    INSERT INTO signing_keys (kid, algorithm, sealed_private_key, created_at)
                    VALUES (\(bind: kid), 'ES256', \(bind: sealed), \(bind: EventTimestamp.now().rfc3339))
                    """
                ).run()
            }
        }
        let key = try ES256PrivateKey(backing: privateKey)
        await signer.add(ecdsa: key, kid: JWKIdentifier(string: kid))
        current = (kid, key)
        return (kid, key)
    }

    func sign(_ claims: AccessTokenClaimsBox) async throws -> String {
        let (kid, _) = try await active()
        return try await signer.sign(claims.claims, kid: JWKIdentifier(string: kid))
    }

    /// The public keys as a JWK Set (RFC 7517).
    public func jwks() async throws -> String {
        let (kid, key) = try await active()
        guard let parameters = key.publicKey.parameters else { throw IdentityError.misconfigured("no public key") }
        let jwk: JSONValue = [
            "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": .string(kid),
            "x": .string(parameters.x), "y": .string(parameters.y),
        ]
        return JSONValue.object(["keys": [jwk]]).canonicalString()
    }
}

/// Wraps claims so the actor boundary carries a `Sendable` value.
struct AccessTokenClaimsBox: Sendable {
    var claims: AccessTokenClaims
}
