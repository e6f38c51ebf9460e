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
        constantTimeEqual(hash(secret), stored)
    }

    /// Whether `a` equals `b`, in a time that depends on their lengths only.
    public static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let left = Array(a.utf8)
        let right = Array(b.utf8)
        guard left.count == right.count else { return false }
        var difference: UInt8 = 0
        for index in left.indices { difference |= left[index] ^ right[index] }
        return difference == 0
    }
}
