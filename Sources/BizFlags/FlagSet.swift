import BizEvents

/// Why a flag file was refused: where in it (`flags.new-route.targeting.fractional[1]`) and what is wrong.
public struct FlagSetError: Error, Sendable, Hashable, CustomStringConvertible {
    public var path: String
    public var reason: String

    public init(_ path: String, _ reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { path.isEmpty ? reason : "\(path): \(reason)" }
}

/// One flag of a flag file, checked and with its targeting compiled.
public struct FlagDefinition: Sendable {
    public var key: String
    public var enabled: Bool
    public var variants: [String: JSONValue]
    public var defaultVariant: String?
    public var metadata: [String: JSONValue]
    /// The flag set's metadata overlaid with the flag's own: what an evaluation reports.
    var resolvedMetadata: [String: JSONValue] = [:]
    /// The definition as the file gave it, with every `$ref` replaced: what a change event shows.
    public var json: JSONValue
    let targeting: Rule?
}

/// The flags of one flag file in flagd's format (flagd.dev/reference/flag-definitions):
///
/// ```json
/// {"flags": {"new-route": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
///   "targeting": {"fractional": [{"var": "tenant_id"}, ["on", 25], ["off", 75]]}}},
///  "$evaluators": {"staff": {"in": ["admin", {"var": "roles"}]}}, "metadata": {"version": "7"}}
/// ```
///
/// A flag is `ENABLED` or `DISABLED`, has variants of one type (boolean, string, number or object) and a default
/// variant naming one of them (or `null`: the caller's default). `targeting` is JsonLogic whose result names the
/// variant; `{"$ref": "name"}` anywhere in it stands for the evaluator of that name.
public final class FlagSet: Sendable {
    public let flags: [String: FlagDefinition]
    /// The flag set's own `metadata`, beside each flag's.
    public let metadata: [String: JSONValue]
    /// The bytes parsed.
    public let source: [UInt8]

    public static let empty = FlagSet(flags: [:], metadata: [:], source: [])

    init(flags: [String: FlagDefinition], metadata: [String: JSONValue], source: [UInt8]) {
        self.flags = flags
        self.metadata = metadata
        self.source = source
    }

    /// Parses a flag file's bytes.
    public static func parse(_ bytes: some Collection<UInt8>) throws(FlagSetError) -> FlagSet {
        let document: JSONValue
        do {
            document = try JSONParser.parse(bytes)
        } catch {
            throw FlagSetError("", "not JSON: \(error)")
        }
        guard case .object(let top) = document else { throw FlagSetError("", "a flag file is a JSON object") }
        for key in top.keys where !["flags", "$evaluators", "metadata", "$schema"].contains(key) {
            throw FlagSetError(key, "unknown key (a flag file has flags, $evaluators, metadata and $schema)")
        }
        guard case .object(let flagObjects)? = top["flags"] else {
            throw FlagSetError("flags", "required: an object of flags by key")
        }
        var evaluators: [String: JSONValue] = [:]
        switch top["$evaluators"] {
        case nil: break
        case .object(let given)?: evaluators = given
        default: throw FlagSetError("$evaluators", "must be an object of rules by name")
        }
        let metadata = try Self.metadata(top["metadata"], at: "metadata")
        var flags: [String: FlagDefinition] = [:]
        for (key, value) in flagObjects {
            guard !key.isEmpty else { throw FlagSetError("flags", "a flag key cannot be empty") }
            let resolved = try Self.replacingReferences(in: value, evaluators, at: "flags.\(key)", depth: 0)
            var flag = try Self.flag(key, resolved)
            flag.resolvedMetadata = metadata.merging(flag.metadata) { $1 }
            flags[key] = flag
        }
        return FlagSet(flags: flags, metadata: metadata, source: Array(bytes))
    }

    private static func flag(_ key: String, _ json: JSONValue) throws(FlagSetError) -> FlagDefinition {
        let at = "flags.\(key)"
        guard case .object(let object) = json else { throw FlagSetError(at, "a flag is an object") }
        let known = ["state", "variants", "defaultVariant", "targeting", "metadata", "source", "selector"]
        for name in object.keys where !known.contains(name) {
            throw FlagSetError("\(at).\(name)", "unknown key (a flag has \(known.prefix(5).joined(separator: ", ")))")
        }
        let enabled: Bool
        switch object["state"] {
        case "ENABLED"?: enabled = true
        case "DISABLED"?: enabled = false
        default: throw FlagSetError("\(at).state", "required: ENABLED or DISABLED")
        }
        guard case .object(let variants)? = object["variants"], !variants.isEmpty else {
            throw FlagSetError("\(at).variants", "required: an object of at least one variant by name")
        }
        let kinds = Set(variants.values.map(\.typeName))
        guard kinds.count == 1, kinds.first != "null" else {
            throw FlagSetError(
                "\(at).variants", "the variants must all be booleans, all strings, all numbers or all objects")
        }
        var defaultVariant: String?
        switch object["defaultVariant"] {
        case nil, .null?: break
        case .string(let name)? where variants[name] != nil: defaultVariant = name
        default: throw FlagSetError("\(at).defaultVariant", "must name one of the variants, or be null")
        }
        var targeting: Rule?
        switch object["targeting"] {
        case nil, .object([:])?: break
        case .object(let rule)?: targeting = try Rule.compile(.object(rule), at: "\(at).targeting")
        default: throw FlagSetError("\(at).targeting", "must be a JsonLogic rule (an object)")
        }
        return FlagDefinition(
            key: key, enabled: enabled, variants: variants, defaultVariant: defaultVariant,
            metadata: try metadata(object["metadata"], at: "\(at).metadata"), json: json, targeting: targeting)
    }

    private static func metadata(_ json: JSONValue?, at path: String) throws(FlagSetError) -> [String: JSONValue] {
        guard let json else { return [:] }
        guard case .object(let object) = json else { throw FlagSetError(path, "must be an object") }
        for (key, value) in object {
            switch value {
            case .bool, .integer, .double, .string: continue
            default: throw FlagSetError("\(path).\(key)", "metadata values are booleans, numbers or strings")
            }
        }
        return object
    }

    /// `{"$ref": "name"}` replaced by the evaluator of that name, which may hold references itself.
    private static func replacingReferences(
        in json: JSONValue, _ evaluators: [String: JSONValue], at path: String, depth: Int
    ) throws(FlagSetError) -> JSONValue {
        switch json {
        case .object(let object):
            if object.count == 1, let reference = object["$ref"] {
                guard case .string(let name) = reference, let rule = evaluators[name] else {
                    throw FlagSetError(path, "$ref names no evaluator in $evaluators: \(reference)")
                }
                guard depth < 16 else { throw FlagSetError(path, "$ref \"\(name)\" refers to itself") }
                return try replacingReferences(in: rule, evaluators, at: path, depth: depth + 1)
            }
            var result: [String: JSONValue] = [:]
            for (key, value) in object {
                result[key] = try replacingReferences(in: value, evaluators, at: "\(path).\(key)", depth: depth)
            }
            return .object(result)
        case .array(let elements):
            var result: [JSONValue] = []
            for (index, element) in elements.enumerated() {
                result.append(try replacingReferences(in: element, evaluators, at: "\(path)[\(index)]", depth: depth))
            }
            return .array(result)
        default:
            return json
        }
    }

    /// What changed from `old` to this set: each flag added, removed or redefined, with its definition before and
    /// after (nil where it did not exist), by key.
    public func changes(since old: FlagSet) -> [FlagChange] {
        Set(flags.keys).union(old.flags.keys).sorted().compactMap { key in
            let before = old.flags[key]?.json
            let after = flags[key]?.json
            return before == after ? nil : FlagChange(key: key, before: before, after: after)
        }
    }
}

/// One flag's definition before and after a flag file changed.
public struct FlagChange: Sendable, Hashable {
    public var key: String
    public var before: JSONValue?
    public var after: JSONValue?
    /// The flag file's modification time (`seconds.nanoseconds`) when the change was read: the processes that
    /// watch the same file see the same revision, and the same edit made again is a new one.
    public var revision = ""
}
