import BizEvents
import Crypto
import Foundation

/// Random secrets and their storage forms.
public enum Secrets {
    /// A URL-safe random secret with `bytes` bytes of entropy.
    public static func random(bytes: Int = 32) -> String {
        var generator = SystemRandomNumberGenerator()
        let data = Data((0..<bytes).map { _ in UInt8.random(in: 0...255, using: &generator) })
        return data.base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// SHA-256 of a high-entropy secret (client secrets, refresh tokens): enough, because they cannot be guessed;
    /// passwords use bcrypt instead.
    public static func hash(_ secret: String) -> String {
        "sha256:" + SHA256.hash(data: Data(secret.utf8)).hexString
    }

    /// Constant-time comparison of a presented secret with its stored hash.
    public static func matches(_ secret: String, hash stored: String) -> Bool {
        let computed = Array(hash(secret).utf8)
        let expected = Array(stored.utf8)
        guard computed.count == expected.count else { return false }
        var difference: UInt8 = 0
        for index in computed.indices { difference |= computed[index] ^ expected[index] }
        return difference == 0
    }
}
