/// The password policy for every new password (created, reset, a tenant's first admin, the bootstrap admin): 12 to 72
/// characters, at most 72 bytes in UTF-8 (what bcrypt reads), not the email or its local part, not a common
/// password — compared lowercased, also with the digits and symbols around it taken away (`Password2026!` is
/// `password`) — and more than three distinct characters.
public enum CommonPasswords {
    public static let minimumLength = 12
    public static let maximumLength = 72

    /// The list, lowercased (`CommonPasswords+List.swift`, from scripts/generate-common-passwords).
    static let words: Set<Substring> = Set(list.split(separator: "\n"))

    /// Why `password` is refused for the user `email`, or nil when it is acceptable.
    public static func weakness(of password: String, email: String) -> String? {
        let lowered = password.lowercased()
        let email = email.lowercased()
        let local = email.split(separator: "@").first.map(String.init) ?? email
        let core = String(lowered.drop { !$0.isLetter }.reversed().drop { !$0.isLetter }.reversed())
        if lowered.contains(email) || lowered == local || (local.count >= 4 && core == local) {
            return "must not be the email address"
        }
        if words.contains(Substring(lowered)) || (core.count >= 4 && words.contains(Substring(core))) {
            return "is a common password"
        }
        if Set(lowered).count <= 3 { return "has too few distinct characters" }
        return nil
    }
}
