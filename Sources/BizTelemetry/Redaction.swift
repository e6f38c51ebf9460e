import Synchronization

/// Keeps personal data and credentials out of log lines: values under a sensitive key are replaced, emails are
/// masked wherever they appear, and anything shaped like a JWT, a CPF or a CNPJ is masked in every value and message.
/// Applied by the log handler to every record, whatever the code that logged it wrote.
public enum Redaction {
    public static let redacted = "[REDACTED]"

    /// The value to log under `key`.
    public static func value(_ value: String, key: String) -> String {
        isSensitive(key) ? redacted : scrub(value)
    }

    /// Keys are few and repeat on every line: the answer is cached (bounded).
    private static let sensitiveKeys = Mutex<[String: Bool]>([:])

    static func isSensitive(_ key: String) -> Bool {
        if let known = sensitiveKeys.withLock({ $0[key] }) { return known }
        let lowered = key.lowercased()
        let sensitive = sensitiveKeyParts.contains { lowered.contains($0) }
        sensitiveKeys.withLock { cache in
            if cache.count < 4_096 { cache[key] = sensitive }
        }
        return sensitive
    }

    private static let sensitiveKeyParts = [
        "password", "secret", "token", "authorization", "cookie", "credential", "cpf", "cnpj", "document", "api_key",
        "apikey",
    ]

    /// `text` with emails masked (`j***@example.com`), and JWTs, CPFs and CNPJs replaced. Returns `text` unchanged
    /// (without copying) when nothing in it can match, which is almost always.
    public static func scrub(_ text: String) -> String {
        var needsWork = false
        var digits = 0
        for byte in text.utf8 {
            if byte == UInt8(ascii: "@") || byte == UInt8(ascii: "J") {
                needsWork = true
                break
            }
            if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                digits += 1
                if digits >= 11 {
                    needsWork = true
                    break
                }
            }
        }
        guard needsWork else { return text }
        var bytes = Array(text.utf8)
        var changed = maskEmails(&bytes)
        changed = replaceTokens(&bytes) || changed
        changed = maskDocuments(&bytes) || changed
        return changed ? String(decoding: bytes, as: UTF8.self) : text
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
    }

    private static func isLocalPart(_ byte: UInt8) -> Bool {
        isAlphanumeric(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "%")
            || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-")
    }

    private static func isDomain(_ byte: UInt8) -> Bool {
        isAlphanumeric(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
    }

    /// `local@domain.tld` → first character of the local part, `***`, and the domain.
    private static func maskEmails(_ bytes: inout [UInt8]) -> Bool {
        var changed = false
        var index = 0
        while index < bytes.count {
            guard bytes[index] == UInt8(ascii: "@") else {
                index += 1
                continue
            }
            var start = index
            while start > 0, isLocalPart(bytes[start - 1]) { start -= 1 }
            var end = index + 1
            var dot = false
            while end < bytes.count, isDomain(bytes[end]) {
                if bytes[end] == UInt8(ascii: ".") { dot = true }
                end += 1
            }
            if start < index, end > index + 1, dot {
                let masked: [UInt8] = [bytes[start]] + Array("***".utf8)
                bytes.replaceSubrange(start..<index, with: masked)
                index = start + masked.count + 1 + (end - index - 1)
                changed = true
            } else {
                index += 1
            }
        }
        return changed
    }

    /// Three base64url segments starting `eyJ` (a JWT or JWS) → `[REDACTED]`.
    private static func replaceTokens(_ bytes: inout [UInt8]) -> Bool {
        var changed = false
        var index = 0
        while index + 3 <= bytes.count {
            guard bytes[index] == UInt8(ascii: "e"), bytes[index + 1] == UInt8(ascii: "y"),
                bytes[index + 2] == UInt8(ascii: "J")
            else {
                index += 1
                continue
            }
            var end = index
            var dots = 0
            while end < bytes.count,
                isAlphanumeric(bytes[end]) || bytes[end] == UInt8(ascii: "-") || bytes[end] == UInt8(ascii: "_")
                    || bytes[end] == UInt8(ascii: ".")
            {
                if bytes[end] == UInt8(ascii: ".") { dots += 1 }
                end += 1
            }
            if dots >= 2 {
                bytes.replaceSubrange(index..<end, with: Array(redacted.utf8))
                index += redacted.utf8.count
                changed = true
            } else {
                index = end
            }
        }
        return changed
    }

    /// A run of digits and `.`, `-`, `/` separators holding exactly 11 (CPF) or 14 (CNPJ) digits, standing alone
    /// (no letter or digit around it) → `***`.
    private static func maskDocuments(_ bytes: inout [UInt8]) -> Bool {
        var changed = false
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            let startsRun = byte >= 0x30 && byte <= 0x39 && (index == 0 || !isAlphanumeric(bytes[index - 1]))
            guard startsRun else {
                index += 1
                continue
            }
            var end = index
            var digits = 0
            var lastDigit = index
            while end < bytes.count {
                let current = bytes[end]
                if current >= 0x30 && current <= 0x39 {
                    digits += 1
                    lastDigit = end
                } else if current != UInt8(ascii: ".") && current != UInt8(ascii: "-") && current != UInt8(ascii: "/") {
                    break
                }
                end += 1
            }
            let runEnd = lastDigit + 1
            let standsAlone = runEnd == bytes.count || !isAlphanumeric(bytes[runEnd])
            if (digits == 11 || digits == 14) && standsAlone {
                bytes.replaceSubrange(index..<runEnd, with: Array("***".utf8))
                index += 3
                changed = true
            } else {
                index = max(runEnd, index + 1)
            }
        }
        return changed
    }
}
