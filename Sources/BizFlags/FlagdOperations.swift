import BizEvents

/// flagd's own JsonLogic operations, as flagd's providers evaluate them.
enum Flagd {
    /// `{"fractional": [bucketBy?, [variant, weight?], …]}`: a sticky split. The key hashed is the first argument when
    /// it is a string, else `flagKey + targetingKey` (then a missing targeting key resolves nothing); MurmurHash3
    /// (x86, 32 bits, seed 0) of its UTF-8 maps to `hash × total weight >> 32`, and the variant whose cumulative
    /// weight range holds that bucket wins. A weight defaults to 1, a negative one counts as 0; a weight that is not
    /// a whole number, or a total of 0 or above 2³¹−1, resolves nothing.
    static func fractional(_ arguments: [JSONValue], _ data: RuleData) -> JSONValue {
        var distributions = arguments[...]
        let key: String
        switch arguments.first {
        case .string(let given)?:
            key = given
            distributions = distributions.dropFirst()
        case .array?:
            guard let targetingKey = data.context?.targetingKey, !targetingKey.isEmpty else { return .null }
            key = data.flagKey + targetingKey
        default: return .null
        }
        var variants: [(JSONValue, UInt64)] = []
        var total: UInt64 = 0
        for distribution in distributions {
            guard case .array(let pair) = distribution, (1...2).contains(pair.count) else { return .null }
            var weight: Int64 = 1
            if pair.count == 2 {
                switch pair[1] {
                case .integer(let given): weight = given
                case .double(let given) where given.rounded() == given && abs(given) < 1e15: weight = Int64(given)
                default: return .null
                }
            }
            let counted = UInt64(max(0, weight))
            total += counted
            guard total <= UInt64(Int32.max) else { return .null }
            variants.append((pair[0], counted))
        }
        guard total > 0 else { return .null }
        let bucket = (UInt64(MurmurHash3.x86Hash32(key.utf8)) * total) >> 32
        var end: UInt64 = 0
        for (variant, weight) in variants {
            end += weight
            if bucket < end { return variant }
        }
        return .null
    }

    /// `{"sem_ver": [version, operator, version]}` with `=`, `!=`, `<`, `<=`, `>`, `>=`, `^` (same major) and `~`
    /// (same major and minor). A leading `v` is dropped and a partial version padded (`1.2` is `1.2.0`); anything
    /// that is then not a semantic version resolves nothing.
    static func semVer(_ arguments: [JSONValue]) -> JSONValue {
        guard case .string(let operation) = arguments[1],
            let left = SemanticVersion(JSLogic.string(arguments[0])),
            let right = SemanticVersion(JSLogic.string(arguments[2]))
        else { return .null }
        return compare(left, operation, right)
    }

    static func compare(_ left: SemanticVersion, _ operation: String, _ right: SemanticVersion) -> JSONValue {
        switch operation {
        case "=": return .bool(left == right)
        case "!=": return .bool(left != right)
        case "<": return .bool(left < right)
        case "<=": return .bool(left <= right)
        case ">": return .bool(left > right)
        case ">=": return .bool(left >= right)
        case "^": return .bool(left.major == right.major)
        case "~": return .bool(left.major == right.major && left.minor == right.minor)
        default: return .null
        }
    }
}

/// A semantic version (semver.org 2.0.0); build metadata is kept out of comparisons.
struct SemanticVersion: Comparable {
    var major: UInt64
    var minor: UInt64
    var patch: UInt64
    var prerelease: [Substring]

    init?(_ text: String) {
        var rest = Substring(text)
        if rest.first == "v" || rest.first == "V" { rest = rest.dropFirst() }
        if let plus = rest.firstIndex(of: "+") {
            let build = rest[rest.index(after: plus)...]
            guard Self.identifiers(build, numericRules: false) != nil else { return nil }
            rest = rest[..<plus]
        }
        var prerelease: [Substring] = []
        if let dash = rest.firstIndex(of: "-") {
            guard let identifiers = Self.identifiers(rest[rest.index(after: dash)...], numericRules: true) else {
                return nil
            }
            prerelease = identifiers
            rest = rest[..<dash]
        }
        let numbers = rest.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...3).contains(numbers.count) else { return nil }
        var parsed: [UInt64] = []
        for number in numbers {
            guard let value = Self.numeric(number) else { return nil }
            parsed.append(value)
        }
        while parsed.count < 3 { parsed.append(0) }
        (major, minor, patch) = (parsed[0], parsed[1], parsed[2])
        self.prerelease = prerelease
    }

    private static func numeric(_ text: Substring) -> UInt64? {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            text == "0" || text.first != "0"
        else { return nil }
        return UInt64(text)
    }

    private static func identifiers(_ text: Substring, numericRules: Bool) -> [Substring]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        for part in parts {
            guard !part.isEmpty,
                part.utf8.allSatisfy({
                    ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D
                })
            else { return nil }
            if numericRules, part.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), part.count > 1, part.first == "0" {
                return nil
            }
        }
        return parts
    }

    static func == (left: Self, right: Self) -> Bool {
        (left.major, left.minor, left.patch) == (right.major, right.minor, right.patch)
            && left.prerelease == right.prerelease
    }

    static func < (left: Self, right: Self) -> Bool {
        if (left.major, left.minor, left.patch) != (right.major, right.minor, right.patch) {
            return (left.major, left.minor, left.patch) < (right.major, right.minor, right.patch)
        }
        switch (left.prerelease.isEmpty, right.prerelease.isEmpty) {
        case (true, _): return false
        case (false, true): return true
        case (false, false): break
        }
        for (a, b) in zip(left.prerelease, right.prerelease) where a != b {
            switch (UInt64(a), UInt64(b)) {
            case (let x?, let y?): return x < y
            case (.some, nil): return true
            case (nil, .some): return false
            case (nil, nil): return a < b
            }
        }
        return left.prerelease.count < right.prerelease.count
    }
}
