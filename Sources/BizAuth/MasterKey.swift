import Crypto
import Foundation

/// The platform's master key: seals signing keys at rest (AES-256-GCM) and derives the key of ownership ids.
public struct MasterKey: Sendable {
    public let key: SymmetricKey

    public init(_ key: SymmetricKey) { self.key = key }

    /// From base64 (32 bytes), as given in `BIZ_MASTER_KEY`.
    public init?(base64: String) {
        guard let data = Data(base64Encoded: base64), data.count == 32 else { return nil }
        self.key = SymmetricKey(data: data)
    }

    public static func generate() -> MasterKey { MasterKey(SymmetricKey(size: .bits256)) }

    public var base64: String { key.withUnsafeBytes { Data($0).base64EncodedString() } }

    public func seal(_ plaintext: Data) throws -> Data {
        guard let combined = try AES.GCM.seal(plaintext, using: key).combined else {
            throw CryptoKitError.incorrectParameterSize
        }
        return combined
    }

    public func open(_ sealed: Data) throws -> Data {
        try AES.GCM.open(AES.GCM.SealedBox(combined: sealed), using: key)
    }
}
