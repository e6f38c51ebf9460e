import BizAuth
import BizEvents
import Crypto
import Foundation
import JWTKit
import _CryptoExtras

/// `biz-bench token-verify [--tokens N]`: what verifying a bearer token costs the gateway (and each service), in the
/// platform's own `TokenVerifier`, measured per token in the same run:
///
/// 1. own ES256 tokens, each new to the verifier (signature, claims, principal: what a token's first request pays);
/// 2. one own token again and again (the verified-token cache: what every later request pays);
/// 3. and 4. the same for an external issuer's RS256 and ES256 tokens (Keycloak-shaped, mapped to a tenant and
///    roles), its keys served by an in-process "discovery" closure;
/// 5. the baselines of (1): jwt-kit's own verification of the same tokens (what `TokenVerifier` did before its ES256
///    path), and the P-256 signature check alone (the floor of any verification).
func tokenVerifyBench(_ arguments: ArraySlice<String>) async throws {
    var count = 20_000
    var iterator = arguments.makeIterator()
    while let argument = iterator.next() {
        switch argument {
        case "--tokens": count = Int(iterator.next() ?? "") ?? count
        default: throw BenchError("unknown option \(argument)")
        }
    }
    let issuer = "https://localhost:8443"
    let audience = "biz-retail-api"
    let external = "http://127.0.0.1:1/realms/loja"
    let tenant = "0190b3a4-0000-7000-8000-000000000001"

    // The platform's own key, and an external realm's RSA and EC keys.
    let own = ES256PrivateKey()
    let rsa = try Insecure.RSA.PrivateKey(backing: _RSA.Signing.PrivateKey(keySize: .bits2048))
    let ec = ES256PrivateKey()
    let signer = JWTKeyCollection()
    await signer.add(ecdsa: own, kid: "own")
    await signer.add(rsa: rsa, digestAlgorithm: .sha256, kid: "rsa")
    await signer.add(ecdsa: ec, kid: "ec")
    func ecJWK(_ key: ES256PrivateKey, _ kid: String) -> JSONValue {
        let parameters = key.publicKey.parameters!
        return [
            "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": .string(kid),
            "x": .string(parameters.x), "y": .string(parameters.y),
        ]
    }
    let (modulus, exponent) = try rsa.publicKey.getKeyPrimitives()
    let ownJWKS = JSONValue.object(["keys": [ecJWK(own, "own")]]).canonicalString()
    let externalJWKS = JSONValue.object([
        "keys": [
            [
                "kty": "RSA", "alg": "RS256", "use": "sig", "kid": "rsa", "n": .string(modulus.base64URLEncodedString),
                "e": .string(exponent.base64URLEncodedString),
            ], ecJWK(ec, "ec"),
        ]
    ]).canonicalString()
    let discovery = JSONValue.object([
        "issuer": .string(external), "jwks_uri": .string(external + "/protocol/openid-connect/certs"),
    ]).canonicalString()
    let verifier = TokenVerifier(
        issuer: issuer, audience: audience,
        externalIssuers: [ExternalIssuer(issuer: external, audience: audience, tenantID: tenant)],
        fetch: { url in url.hasSuffix("openid-configuration") ? discovery : externalJWKS }, loadKeys: { ownJWKS })

    print("signing \(count) tokens of each kind…")
    let now = Date()
    var ownTokens: [String] = []
    var rsaTokens: [String] = []
    var ecTokens: [String] = []
    for index in 0..<count {
        let claims = AccessTokenClaims(
            issuer: issuer, subject: "user-\(index)", audience: [audience], issuedAt: now, lifetime: 900,
            id: EventID.generate(), tenantID: tenant, roles: ["viewer"], scope: "openid api", ownerType: "user")
        ownTokens.append(try await signer.sign(claims, kid: "own"))
        let keycloak = KeycloakClaims(
            iss: external, sub: "user-\(index)", aud: [audience, "account"], exp: Int(now.timeIntervalSince1970) + 900,
            jti: EventID.generate())
        rsaTokens.append(try await signer.sign(keycloak, kid: "rsa"))
        ecTokens.append(try await signer.sign(keycloak, kid: "ec"))
    }
    // Warm-up: the key sets load, and code paths are hot.
    _ = try await verifier.verify(
        try await signer.sign(
            AccessTokenClaims(
                issuer: issuer, subject: "warm", audience: [audience], issuedAt: now, lifetime: 900, id: "w",
                tenantID: tenant, roles: [], scope: "api", ownerType: "user"), kid: "own"))
    _ = try await verifier.verify(rsaTokens[0])
    _ = try await verifier.verify(ecTokens[0])

    func measure(_ name: String, _ tokens: [String]) async throws -> Double {
        try await measureEach(name, tokens[...]) { token in _ = try await verifier.verify(token) }
    }
    func measureEach(_ name: String, _ tokens: ArraySlice<String>, _ body: (String) async throws -> Void)
        async throws -> Double
    {
        let clock = ContinuousClock()
        let elapsed = try await clock.measure {
            for token in tokens { try await body(token) }
        }
        let microseconds = Double(elapsed.components.attoseconds) / 1e12 + Double(elapsed.components.seconds) * 1e6
        let each = microseconds / Double(tokens.count)
        print(name.padding(toLength: 44, withPad: " ", startingAt: 0) + String(format: "%9.2f µs per token", each))
        return each
    }
    print("")
    let ownFirst = try await measure("own ES256, first use (full verification)", Array(ownTokens.dropFirst()))
    let jwtKit = JWTKeyCollection()
    await jwtKit.add(ecdsa: own.publicKey, kid: "own")
    let viaJWTKit = try await measureEach("  baseline: jwt-kit's verification", ownTokens.dropFirst()) { token in
        _ = try await jwtKit.verify(token, as: AccessTokenClaims.self)
    }
    let point = own.publicKey.parameters!
    let publicKey = try P256.Signing.PublicKey(
        x963Representation: [0x04] + Data(base64URL: point.x)! + Data(base64URL: point.y)!)
    let floor = try await measureEach("  baseline: P-256 signature check alone", ownTokens.dropFirst()) { token in
        let parts = token.split(separator: ".")
        let signature = try P256.Signing.ECDSASignature(rawRepresentation: Data(base64URL: parts[2])!)
        let input = Array(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        guard publicKey.isValidSignature(signature, for: SHA256.hash(data: input)) else { throw BenchError("bad") }
    }
    let ownCached = try await measure("own ES256, cached", Array(repeating: ownTokens[1], count: count))
    let rsaFirst = try await measure("external RS256, first use", Array(rsaTokens.dropFirst()))
    let rsaCached = try await measure("external RS256, cached", Array(repeating: rsaTokens[1], count: count))
    let ecFirst = try await measure("external ES256, first use", Array(ecTokens.dropFirst()))
    let ecCached = try await measure("external ES256, cached", Array(repeating: ecTokens[1], count: count))
    print("")
    print(
        String(
            format: "verification adds %.3f ms on a token's first request, %.4f ms after (target < 0.2 ms)",
            ownFirst / 1000, ownCached / 1000))
    print(
        String(
            format: "external after first use: RS256 %.2f µs, ES256 %.2f µs vs own %.2f µs (target: no more)",
            rsaCached, ecCached, ownCached))
    print(String(format: "external first use: RS256 %.1f µs, ES256 %.1f µs", rsaFirst, ecFirst))
    print(
        String(
            format: "own first use: %.1f µs against jwt-kit's %.1f µs; the signature check alone is %.1f µs",
            ownFirst, viaJWTKit, floor))
}

/// The claims of a Keycloak access token that the mapping reads.
struct KeycloakClaims: JWTPayload {
    struct Access: Codable { var roles: [String] }
    var iss: String
    var sub: String
    var aud: [String]
    var exp: Int
    var jti: String
    var typ = "Bearer"
    var azp = "loja-web"
    var scope = "openid email"
    var realmAccess = Access(roles: ["viewer", "offline_access"])

    enum CodingKeys: String, CodingKey {
        case iss, sub, aud, exp, jti, typ, azp, scope
        case realmAccess = "realm_access"
    }

    func verify(using algorithm: some JWTAlgorithm) async throws {}
}
