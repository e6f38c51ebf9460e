import BizEvents
import Crypto
import Foundation

/// The platform's own tokens verified off any actor: the ES256 signature checked with swift-crypto against the key
/// its `kid` names, the claims read with the platform's JSON parser. jwt-kit's path (an actor hop to its key
/// collection, Foundation's `JSONDecoder` for the header and the claims) cost about as much again as the signature
/// itself (Benchmarks/README.md, `biz-bench token-verify`); this one is what a first use of a token costs.
struct ES256Verification: Sendable {
    /// The public keys by `kid`: the P-256 keys of the issuer's set.
    var keys: [String: P256.Signing.PublicKey] = [:]

    /// The EC P-256 keys of a JWK Set (others are left to jwt-kit).
    init(jwks json: String) {
        guard let set = try? JSONParser.parse(Array(json.utf8)), let keys = set["keys"]?.arrayValue else { return }
        for key in keys {
            guard key["kty"]?.stringValue == "EC", key["crv"]?.stringValue == "P-256",
                key["alg"]?.stringValue == nil || key["alg"]?.stringValue == "ES256",
                let kid = key["kid"]?.stringValue, let x = key["x"]?.stringValue.flatMap({ Data(base64URL: $0) }),
                let y = key["y"]?.stringValue.flatMap({ Data(base64URL: $0) }), x.count == 32, y.count == 32,
                let publicKey = try? P256.Signing.PublicKey(x963Representation: [0x04] + x + y)
            else { continue }
            self.keys[kid] = publicKey
        }
    }

    init() {}

    /// The verified claims and expiry of `token`; nil when it is not an ES256 token of a known key (the slower path
    /// decides: it reloads the set for an unknown `kid`, and refuses what it cannot verify).
    func verify(_ token: String, now: Date) throws(AuthError) -> JSONValue? {
        let parts = token.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 3, let headerBytes = Data(base64URL: Substring(parts[0])),
            let header = try? JSONParser.parse(Array(headerBytes)), header["alg"]?.stringValue == "ES256",
            let kid = header["kid"]?.stringValue, let key = keys[kid]
        else { return nil }
        guard let signatureBytes = Data(base64URL: Substring(parts[2])), signatureBytes.count == 64,
            let signature = try? P256.Signing.ECDSASignature(rawRepresentation: signatureBytes)
        else { throw .unauthenticated("the token is not a valid JWT") }
        let signed = token.utf8.prefix(parts[0].count + 1 + parts[1].count)
        guard key.isValidSignature(signature, for: SHA256.hash(data: Array(signed))) else {
            throw .unauthenticated("the token's signature does not verify")
        }
        guard let payloadBytes = Data(base64URL: Substring(parts[1])),
            let payload = try? JSONParser.parse(Array(payloadBytes)), payload.objectValue != nil
        else { throw .unauthenticated("the token is not a valid JWT") }
        guard let expiry = payload["exp"].flatMap(Self.seconds) else {
            throw .unauthenticated("the token is not a valid JWT")
        }
        guard Date(timeIntervalSince1970: expiry) > now else { throw .unauthenticated("the token has expired") }
        return payload
    }

    /// A NumericDate (RFC 7519 §2): seconds, whole or not.
    static func seconds(_ value: JSONValue) -> Double? {
        switch value {
        case .integer(let seconds): Double(seconds)
        case .double(let seconds): seconds
        default: nil
        }
    }
}

extension Principal {
    /// The principal of an own access token's verified claims (``AccessTokenClaims``' fields), and its expiry; nil
    /// when a claim is missing or of the wrong type.
    init?(verified claims: JSONValue) {
        guard let subject = claims["sub"]?.stringValue, let tenant = claims["tenant_id"]?.stringValue,
            let roles = claims["roles"]?.arrayValue, let scope = claims["scope"]?.stringValue,
            let ownerType = claims["owner_type"]?.stringValue, let tokenID = claims["jti"]?.stringValue
        else { return nil }
        let audiences: [String]
        switch claims["aud"] {
        case .string(let audience): audiences = [audience]
        case .array(let values): audiences = values.compactMap(\.stringValue)
        default: return nil
        }
        self.init(
            subject: subject, tenantID: tenant, roles: roles.compactMap(\.stringValue),
            scopes: Set(scope.split(separator: " ").map(String.init)), ownerType: ownerType, tokenID: tokenID,
            audiences: Set(audiences))
    }
}
