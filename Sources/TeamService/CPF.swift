/// Brazil's individual taxpayer number (CPF): 11 digits, the last two check digits (mod 11).
public enum CPF {
    /// The 11 digits of a valid CPF (punctuation `.` and `-` allowed in the input), or nil.
    public static func normalize(_ text: String) -> String? {
        let digits = text.filter { $0 != "." && $0 != "-" && $0 != " " }
        guard digits.count == 11, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        let values = digits.compactMap { $0.wholeNumberValue }
        // Repeated digits pass the checksum but are not issued.
        guard Set(values).count > 1 else { return nil }
        func check(_ count: Int) -> Int {
            let sum = (0..<count).reduce(0) { $0 + values[$1] * (count + 1 - $1) }
            let remainder = (sum * 10) % 11
            return remainder == 10 ? 0 : remainder
        }
        guard check(9) == values[9], check(10) == values[10] else { return nil }
        return digits
    }
}
