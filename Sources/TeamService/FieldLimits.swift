import BizServiceKit

/// The bounds of the Team service's free-text fields and lists, in UTF-8 bytes, so every event it emits stays far
/// below `EventEnvelope.maximumEncodedSize` (an account with 100 teams is about 5 KB). README and the OpenAPI
/// document state the same numbers.
public enum FieldLimits {
    /// `name` of a team or an account.
    public static let nameBytes = 200
    /// A team's `description`.
    public static let descriptionBytes = 2_000
    /// The teams one account may belong to (`team_ids`, after removing repeats).
    public static let teamIDs = 100

    static func checked(_ text: String, field: String, limit: Int, allowsLineBreaks: Bool) throws(TeamError) -> String {
        try TextInput.checked(text, field: field, limit: limit, allowsLineBreaks: allowsLineBreaks)
    }
}
