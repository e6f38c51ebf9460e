import Crypto
import Foundation

/// Standard Webhooks 1.0 signatures (https://www.standardwebhooks.com): a request carries `webhook-id`,
/// `webhook-timestamp` (Unix seconds) and `webhook-signature`, one or more space-separated `v1,<base64 HMAC-SHA256>`
/// of `<id>.<timestamp>.<body>`, one per secret while a secret is rotated.
public struct WebhookSecret: Sendable, Hashable, CustomStringConvertible {
    /// The key the HMAC uses.
    let key: SymmetricKey

    public static let prefix = "whsec_"

    /// A new secret of 32 random bytes.
    public static func generate() -> WebhookSecret { WebhookSecret(key: SymmetricKey(size: .bits256)) }

    init(key: SymmetricKey) { self.key = key }

    /// From its text: `whsec_` and the key in base64 (24 to 64 bytes), as shown once when a webhook is created.
    public init?(_ text: String) {
        guard text.hasPrefix(Self.prefix), let bytes = Data(base64Encoded: String(text.dropFirst(Self.prefix.count))),
            (24...64).contains(bytes.count)
        else { return nil }
        key = SymmetricKey(data: bytes)
    }

    /// `whsec_<base64>`: shown to the subscriber once, then kept sealed.
    public var text: String { Self.prefix + key.withUnsafeBytes { Data($0).base64EncodedString() } }

    /// Printed without the key.
    public var description: String { "WebhookSecret(<redacted>)" }

    public static func == (lhs: WebhookSecret, rhs: WebhookSecret) -> Bool { lhs.text == rhs.text }
    public func hash(into hasher: inout Hasher) { hasher.combine(text) }

    /// `v1,<base64>` for the message.
    public func signature(id: String, timestamp: Int64, body: some DataProtocol) -> String {
        var content = Data("\(id).\(timestamp).".utf8)
        content.append(contentsOf: body)
        let mac = HMAC<SHA256>.authenticationCode(for: content, using: key)
        return "v1," + Data(mac).base64EncodedString()
    }
}

/// The headers of a signed webhook request.
public struct WebhookSignature: Sendable, Hashable {
    public var id: String
    public var timestamp: Int64
    /// Space-separated `v1,…` signatures, one per current secret.
    public var signatures: String

    /// Signs `body` with every secret (the new one first during a rotation).
    public init(id: String, timestamp: Int64, body: some DataProtocol, secrets: [WebhookSecret]) {
        self.id = id
        self.timestamp = timestamp
        self.signatures = secrets.map { $0.signature(id: id, timestamp: timestamp, body: body) }
            .joined(separator: " ")
    }

    /// `webhook-id`, `webhook-timestamp`, `webhook-signature`.
    public var headers: [(String, String)] {
        [("webhook-id", id), ("webhook-timestamp", "\(timestamp)"), ("webhook-signature", signatures)]
    }

    /// Whether a received request is signed by `secret` within `tolerance` seconds of `now` (the check a receiver
    /// makes; the tests' receiver uses an independent implementation).
    public static func verify(
        id: String, timestamp: Int64, signatures: String, body: some DataProtocol, secret: WebhookSecret,
        now: Int64, tolerance: Int64 = 300
    ) -> Bool {
        guard abs(now - timestamp) <= tolerance else { return false }
        let expected = Array(secret.signature(id: id, timestamp: timestamp, body: body).utf8)
        return signatures.split(separator: " ").contains { candidate in
            let bytes = Array(candidate.utf8)
            // Constant time over equal lengths: no early exit on the first differing byte.
            return bytes.count == expected.count && zip(bytes, expected).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
        }
    }
}
