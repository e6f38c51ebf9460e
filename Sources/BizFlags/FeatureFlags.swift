import BizEvents
import Foundation
import Synchronization

/// Who a flag is evaluated for. The platform fills `targetingKey` with the caller's user id and the attributes
/// `tenant_id`, `roles` and `service` (the service evaluating); a rule reads them with `{"var": "tenant_id"}`.
public struct EvaluationContext: Sendable, Hashable {
    public var targetingKey: String?
    public var attributes: [String: JSONValue]

    public init(targetingKey: String? = nil, attributes: [String: JSONValue] = [:]) {
        self.targetingKey = targetingKey
        self.attributes = attributes
    }

    /// The platform's context: `targetingKey` = `user`, and `tenant_id`, `roles` and `service` when given.
    public init(user: String?, tenant: String?, roles: [String] = [], service: String? = nil) {
        self.targetingKey = user
        var attributes: [String: JSONValue] = ["roles": .array(roles.map(JSONValue.string))]
        if let tenant { attributes["tenant_id"] = .string(tenant) }
        if let service { attributes["service"] = .string(service) }
        self.attributes = attributes
    }
}

/// Why an evaluation gave its value (OpenFeature's reasons).
public enum FlagReason: String, Sendable, Hashable {
    /// The flag has no targeting: its default variant.
    case `static` = "STATIC"
    /// The targeting chose the variant.
    case targetingMatch = "TARGETING_MATCH"
    /// The targeting chose nothing: the flag's default variant, or the caller's default when it has none.
    case `default` = "DEFAULT"
    /// The flag is `DISABLED`: the caller's default.
    case disabled = "DISABLED"
    /// See the error code: the caller's default.
    case error = "ERROR"
}

/// OpenFeature's error codes.
public enum FlagErrorCode: String, Sendable, Hashable {
    case flagNotFound = "FLAG_NOT_FOUND"
    case typeMismatch = "TYPE_MISMATCH"
    case general = "GENERAL"
}

/// The outcome of one evaluation: the value (the caller's default on any error), the variant chosen, why, and the
/// flag's metadata (the flag set's, overlaid with the flag's own).
public struct FlagResolution<Value: Sendable>: Sendable {
    public var key: String
    public var value: Value
    public var variant: String?
    public var reason: FlagReason
    public var errorCode: FlagErrorCode?
    public var errorMessage: String?
    public var metadata: [String: JSONValue]
}

extension FlagResolution: Equatable where Value: Equatable {}

/// The platform's flag client, shaped like OpenFeature's: typed evaluations with a default, each also as details
/// with a reason. It reads the flags in force, which ``replace(with:)`` swaps whole (a flag file reloaded): an
/// evaluation sees one flag set or the next, never a mixture.
public final class FeatureFlags: Sendable {
    private let current: Mutex<FlagSet>
    private let observers = Mutex<[@Sendable ([FlagChange]) async -> Void]>([])

    public init(_ flags: FlagSet = .empty) {
        current = Mutex(flags)
    }

    /// Calls `observer` with what changed each time the flags in force change (the Audit service records it).
    public func observe(_ observer: @escaping @Sendable ([FlagChange]) async -> Void) {
        observers.withLock { $0.append(observer) }
    }

    /// Hands `changes` to every observer, in the order they registered.
    func notify(_ changes: [FlagChange]) async {
        for observer in observers.withLock({ $0 }) { await observer(changes) }
    }

    /// The flags in force.
    public var flagSet: FlagSet { current.withLock { $0 } }

    /// Puts `flags` in force; returns what changed.
    @discardableResult
    public func replace(with flags: FlagSet) -> [FlagChange] {
        current.withLock { old in
            defer { old = flags }
            return flags.changes(since: old)
        }
    }

    public func boolean(_ key: String, default value: Bool, context: EvaluationContext) -> Bool {
        booleanDetails(key, default: value, context: context).value
    }

    public func string(_ key: String, default value: String, context: EvaluationContext) -> String {
        stringDetails(key, default: value, context: context).value
    }

    public func number(_ key: String, default value: Double, context: EvaluationContext) -> Double {
        numberDetails(key, default: value, context: context).value
    }

    public func object(_ key: String, default value: JSONValue, context: EvaluationContext) -> JSONValue {
        objectDetails(key, default: value, context: context).value
    }

    public func booleanDetails(_ key: String, default value: Bool, context: EvaluationContext) -> FlagResolution<Bool> {
        resolve(key, default: value, context: context) {
            if case .bool(let flag) = $0 { return flag }
            return nil
        }
    }

    public func stringDetails(_ key: String, default value: String, context: EvaluationContext)
        -> FlagResolution<String>
    {
        resolve(key, default: value, context: context) { $0.stringValue }
    }

    public func numberDetails(_ key: String, default value: Double, context: EvaluationContext)
        -> FlagResolution<Double>
    {
        resolve(key, default: value, context: context) {
            switch $0 {
            case .integer(let number): Double(number)
            case .double(let number): number
            default: nil
            }
        }
    }

    public func objectDetails(_ key: String, default value: JSONValue, context: EvaluationContext)
        -> FlagResolution<JSONValue>
    {
        resolve(key, default: value, context: context) {
            if case .object = $0 { return $0 }
            return nil
        }
    }

    /// Every flag in force for `context`, whatever its type (a disabled flag, or one whose targeting chose nothing
    /// and that has no default variant, has a null value).
    public func all(context: EvaluationContext) -> [FlagResolution<JSONValue>] {
        let flags = flagSet
        return flags.flags.keys.sorted().map { key in
            Self.resolve(key, in: flags, default: .null, context: context) { $0 }
        }
    }

    private func resolve<Value: Sendable>(
        _ key: String, default value: Value, context: EvaluationContext, _ convert: (JSONValue) -> Value?
    ) -> FlagResolution<Value> {
        Self.resolve(key, in: flagSet, default: value, context: context, convert)
    }

    static func resolve<Value: Sendable>(
        _ key: String, in flags: FlagSet, default value: Value, context: EvaluationContext,
        _ convert: (JSONValue) -> Value?
    ) -> FlagResolution<Value> {
        var resolution = FlagResolution(
            key: key, value: value, variant: nil, reason: .error, errorCode: nil, errorMessage: nil, metadata: [:])
        guard let flag = flags.flags[key] else {
            resolution.errorCode = .flagNotFound
            resolution.errorMessage = "no flag \(key) is defined"
            return resolution
        }
        resolution.metadata = flag.resolvedMetadata
        guard flag.enabled else {
            resolution.reason = .disabled
            return resolution
        }
        var variant = flag.defaultVariant
        resolution.reason = .static
        if let targeting = flag.targeting {
            let data = RuleData(context: context, flagKey: key)
            switch targeting.evaluate(data) {
            case .null: resolution.reason = .default
            case .string(let chosen):
                variant = chosen
                resolution.reason = .targetingMatch
            case let other:
                variant = JSLogic.string(other)
                resolution.reason = .targetingMatch
            }
        }
        guard let variant else {
            resolution.reason = .default
            return resolution
        }
        guard let json = flag.variants[variant] else {
            resolution.reason = .error
            resolution.errorCode = .general
            resolution.errorMessage = "the targeting of \(key) chose \(variant), which is not one of its variants"
            return resolution
        }
        guard let typed = convert(json) else {
            resolution.reason = .error
            resolution.errorCode = .typeMismatch
            resolution.errorMessage = "\(key) is a \(json.typeName) flag"
            return resolution
        }
        resolution.value = typed
        resolution.variant = variant
        return resolution
    }
}
