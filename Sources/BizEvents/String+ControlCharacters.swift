extension StringProtocol {
    /// Whether the text holds a control character (NUL, escape, …) other than those in `allowed`.
    public func containsControlCharacter(except allowed: Set<Unicode.Scalar> = []) -> Bool {
        unicodeScalars.contains { $0.properties.generalCategory == .control && !allowed.contains($0) }
    }
}
