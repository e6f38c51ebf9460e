import Crypto
import Foundation

/// A platform service's own OAuth2 client, its *service account*: client id `biz-retail-<service>`, tenant
/// `platform`, role `service` (the gateway's: `gateway`), the `client_credentials` grant only.
///
/// - Its tokens' audience is the services it calls (`biz-retail:<service>` each), not the API: a receiver refuses a
///   service token that was not meant for it, and no HTTPS route accepts one.
/// - Its public id, the `sub` of its tokens and the `owner_id` of what the service does on its own, is derived from
///   its client id (a UUID version 5), so every process knows it without asking.
/// - Its secret is `BIZ_<SERVICE>_CLIENT_SECRET` when configured (the same value on the service and on the Identity
///   Provider), otherwise derived from the master key, which every process of a deployment shares.
public struct ServiceAccount: Sendable, Hashable, CustomStringConvertible {
    /// `team`, `cost-center`, `gateway`.
    public var service: String
    /// The services it calls (their names), each an audience of its tokens.
    public var calls: [String]
    public var secret: String
    /// `service`, or `gateway` for the gateway (whose token also attests its callers' client IP).
    public var role: String

    public init(service: String, calls: [String], secret: String) {
        self.service = service
        self.calls = calls
        self.secret = secret
        self.role = service == "gateway" ? CallMetadata.gatewayRole : Self.serviceRole
    }

    /// The role of every service account but the gateway's.
    public static let serviceRole = "service"
    public static let clientIDPrefix = "biz-retail-"

    public var clientID: String { Self.clientID(of: service) }
    public var publicID: String { Self.publicID(of: service) }
    /// The audiences its tokens carry.
    public var audiences: [String] { calls.map(Self.audience(of:)) }

    public static func clientID(of service: String) -> String { clientIDPrefix + service }

    /// The setting of its secret: `BIZ_COST_CENTER_CLIENT_SECRET`.
    public var secretVariable: String {
        "BIZ_" + service.uppercased().replacingOccurrences(of: "-", with: "_") + "_CLIENT_SECRET"
    }

    /// The audience a token must carry for `service` to accept it from another service: `biz-retail:team`.
    public static func audience(of service: String) -> String { "biz-retail:\(service)" }

    /// Whether an audience is a service's (not the API's, nor anyone else's).
    public static func isServiceAudience(_ audience: String) -> Bool { audience.hasPrefix("biz-retail:") }

    /// The account's public id: UUID version 5 (RFC 9562 §5.5) of its client id in the platform's namespace.
    public static func publicID(of service: String) -> String {
        var bytes = Array(Insecure.SHA1.hash(data: namespace + Array(clientID(of: service).utf8)).prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x50
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        let hex = Array(bytes.map { String(format: "%02x", $0) }.joined())
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(hex[$0]) }.joined(separator: "-")
    }

    /// Whether the client `clientID` with public id `publicID` is a service account (its public id is the one derived
    /// from its client id; the gateway's, older than that rule, is known by its client id).
    public static func isAccount(clientID: String, publicID: String) -> Bool {
        guard clientID.hasPrefix(clientIDPrefix) else { return false }
        return clientID == Self.clientID(of: "gateway")
            || publicID == Self.publicID(of: String(clientID.dropFirst(clientIDPrefix.count)))
    }

    /// The secret of `service`'s account derived from the master key (HKDF-SHA256, 32 bytes, base64url).
    public static func derivedSecret(of service: String, masterKey: MasterKey) -> String {
        let key = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: masterKey.key, salt: Array("biz-retail service account".utf8),
            info: Array(clientID(of: service).utf8), outputByteCount: 32)
        return key.withUnsafeBytes { Data($0).base64URLEncodedString }
    }

    /// The platform's namespace of name-based UUIDs (fixed, random).
    private static let namespace: [UInt8] = [
        0x3c, 0x0e, 0x6b, 0x2a, 0x55, 0x1f, 0x5d, 0x8e, 0x9a, 0x44, 0x1e, 0x3b, 0x7c, 0x2d, 0x90, 0x61,
    ]

    /// Printed without its secret.
    public var description: String { "ServiceAccount(\(clientID), calls: \(calls))" }
}
