extension Sequence<UInt8> {
    /// Lowercase hexadecimal, two digits a byte (digests, ids).
    public var hexString: String {
        let digits: StaticString = "0123456789abcdef"
        var output: [UInt8] = []
        output.reserveCapacity(underestimatedCount * 2)
        for byte in self {
            output.append(digits.utf8Start[Int(byte >> 4)])
            output.append(digits.utf8Start[Int(byte & 0x0F)])
        }
        return String(decoding: output, as: UTF8.self)
    }
}
