import Foundation

extension Data {
    /// From base64url without padding (RFC 4648 §5), as JWTs and page tokens carry it; nil when malformed.
    public init?(base64URL text: some StringProtocol) {
        // Byte by byte: Foundation's string replacing costs more than the decoding (a token's verification does it
        // three times).
        var base64 = Array(text.utf8)
        for index in base64.indices {
            if base64[index] == UInt8(ascii: "-") {
                base64[index] = UInt8(ascii: "+")
            } else if base64[index] == UInt8(ascii: "_") {
                base64[index] = UInt8(ascii: "/")
            }
        }
        base64 += repeatElement(UInt8(ascii: "="), count: (4 - base64.count % 4) % 4)
        self.init(base64Encoded: Data(base64))
    }

    /// base64url without padding.
    public var base64URLEncodedString: String {
        base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
