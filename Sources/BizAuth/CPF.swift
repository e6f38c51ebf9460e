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

/// Brazil's company taxpayer number (CNPJ): 14 characters, the last two check digits (mod 11). Since July 2026 the
/// first 12 may be letters (`0-9A-Z`), each valued at its ASCII code minus 48 in the same rule; older CNPJs are the
/// all-digit case of it.
public enum CNPJ {
    /// The 14 characters of a valid CNPJ (punctuation `.`, `/`, `-` and spaces allowed, letters in either case), or
    /// nil.
    public static func normalize(_ text: String) -> String? {
        let characters = text.uppercased().utf8.filter {
            $0 != UInt8(ascii: ".") && $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: "-") && $0 != UInt8(ascii: " ")
        }
        guard characters.count == 14 else { return nil }
        let isDigit = { (byte: UInt8) in byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
        let isLetter = { (byte: UInt8) in byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") }
        guard characters.prefix(12).allSatisfy({ isDigit($0) || isLetter($0) }),
            characters.suffix(2).allSatisfy(isDigit)
        else { return nil }
        let values = characters.map { Int($0) - 48 }
        // All-zero (and other repeated-digit) numbers pass the checksum but are not issued.
        guard Set(values).count > 1 else { return nil }
        func check(_ count: Int) -> Int {
            // Weights 2…9 from the right, repeating.
            var sum = 0
            for index in 0..<count { sum += values[index] * (2 + (count - 1 - index) % 8) }
            let remainder = sum % 11
            return remainder < 2 ? 0 : 11 - remainder
        }
        guard check(12) == values[12], check(13) == values[13] else { return nil }
        return String(decoding: characters, as: UTF8.self)
    }

    /// `12ABC34501DE35` → `12.ABC.345/01DE-35`.
    public static func formatted(_ normalized: String) -> String {
        let c = Array(normalized)
        guard c.count == 14 else { return normalized }
        return "\(String(c[0..<2])).\(String(c[2..<5])).\(String(c[5..<8]))/\(String(c[8..<12]))-\(String(c[12..<14]))"
    }
}

extension CPF {
    /// `52998224725` → `529.982.247-25`.
    public static func formatted(_ normalized: String) -> String {
        let c = Array(normalized)
        guard c.count == 11 else { return normalized }
        return "\(String(c[0..<3])).\(String(c[3..<6])).\(String(c[6..<9]))-\(String(c[9..<11]))"
    }
}
