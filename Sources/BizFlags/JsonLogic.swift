import BizEvents
import Foundation

/// A JsonLogic rule (jsonlogic.com) with flagd's operations (`fractional`, `sem_ver`, `starts_with`, `ends_with`),
/// compiled once when a flag file loads so that an evaluation only walks the tree: an unknown operation or a wrong
/// number of arguments is an error at load, never at evaluation.
///
/// Values follow JsonLogic's JavaScript semantics: `0`, `""`, `[]` and `null` are false; `==` converts between
/// numbers, strings and booleans; `===` does not.
indirect enum Rule: Sendable {
    case literal(JSONValue)
    /// An array whose elements are rules (`[{"var": "a"}, 1]`).
    case array([Rule])
    /// `{"var": "a.b"}` with a fixed path; an empty path is the whole data.
    case variable([String], fallback: Rule?)
    /// `{"var": <rule>}`: the path is computed.
    case computedVariable(Rule, fallback: Rule?)
    case operation(Operation, [Rule])
    /// `sem_ver` against a literal version, parsed once.
    case semVer(Rule, String, SemanticVersion)

    enum Operation: String, Sendable, CaseIterable {
        case equal = "=="
        case strictEqual = "==="
        case notEqual = "!="
        case strictNotEqual = "!=="
        case not = "!"
        case truthy = "!!"
        case or
        case and
        case conditional = "if"
        case ternary = "?:"
        case less = "<"
        case lessOrEqual = "<="
        case greater = ">"
        case greaterOrEqual = ">="
        case contains = "in"
        case cat
        case substr
        case plus = "+"
        case minus = "-"
        case times = "*"
        case divide = "/"
        case modulo = "%"
        case max
        case min
        case missing
        case missingSome = "missing_some"
        case merge
        case map
        case filter
        case reduce
        case all
        case none
        case some
        case fractional
        case semVer = "sem_ver"
        case startsWith = "starts_with"
        case endsWith = "ends_with"

        /// The numbers of arguments the operation takes, when it is fixed.
        var arity: ClosedRange<Int>? {
            switch self {
            case .equal, .strictEqual, .notEqual, .strictNotEqual, .contains, .divide, .modulo, .startsWith,
                .endsWith, .map, .filter, .all, .none, .some:
                2...2
            case .not, .truthy: 1...1
            case .less, .lessOrEqual: 2...3
            case .greater, .greaterOrEqual: 2...2
            case .substr, .reduce: 2...3
            case .minus, .missingSome: self == .minus ? 1...2 : 2...2
            case .semVer: 3...3
            case .fractional: 1...Int.max
            case .or, .and, .conditional, .ternary, .cat, .plus, .times, .max, .min, .missing, .merge: nil
            }
        }
    }

    /// Compiles `json`; `path` names where it is in the flag file, for the error.
    static func compile(_ json: JSONValue, at path: String) throws(FlagSetError) -> Rule {
        switch json {
        case .array(let elements):
            var rules: [Rule] = []
            for (index, element) in elements.enumerated() {
                rules.append(try compile(element, at: "\(path)[\(index)]"))
            }
            return rules.allSatisfy(\.isLiteral) ? .literal(json) : .array(rules)
        case .object(let object):
            guard object.count == 1, let (name, argument) = object.first else {
                throw FlagSetError(path, "an operation is an object with exactly one key (its name)")
            }
            let at = "\(path).\(name)"
            if name == "var" { return try compileVariable(argument, at: at) }
            guard let operation = Operation(rawValue: name) else {
                throw FlagSetError(path, "unknown operation \"\(name)\"")
            }
            var arguments: [Rule] = []
            if case .array(let elements) = argument {
                for (index, element) in elements.enumerated() {
                    arguments.append(try compile(element, at: "\(at)[\(index)]"))
                }
            } else {
                arguments = [try compile(argument, at: at)]
            }
            if let arity = operation.arity, !arity.contains(arguments.count) {
                let expected =
                    arity.lowerBound == arity.upperBound
                    ? "\(arity.lowerBound)"
                    : arity.upperBound == Int.max
                        ? "at least \(arity.lowerBound)" : "\(arity.lowerBound) or \(arity.upperBound)"
                throw FlagSetError(path, "\"\(name)\" takes \(expected) argument(s), not \(arguments.count)")
            }
            if operation == .semVer, case .literal(.string(let comparison)) = arguments[1],
                case .literal(let literal) = arguments[2], let version = SemanticVersion(JSLogic.string(literal))
            {
                return .semVer(arguments[0], comparison, version)
            }
            return .operation(operation, arguments)
        default:
            return .literal(json)
        }
    }

    private static func compileVariable(_ argument: JSONValue, at path: String) throws(FlagSetError) -> Rule {
        var name = argument
        var fallback: Rule?
        if case .array(let elements) = argument {
            guard elements.count <= 2 else { throw FlagSetError(path, "\"var\" takes a path and a default") }
            name = elements.first ?? ""
            if elements.count == 2 { fallback = try compile(elements[1], at: "\(path)[1]") }
        }
        switch name {
        case .string(let text):
            return .variable(
                text.isEmpty ? [] : text.split(separator: ".", omittingEmptySubsequences: false).map(String.init),
                fallback: fallback)
        case .integer(let index): return .variable([String(index)], fallback: fallback)
        case .null: return .variable([], fallback: fallback)
        default: return .computedVariable(try compile(name, at: path), fallback: fallback)
        }
    }

    var isLiteral: Bool {
        if case .literal = self { return true }
        return false
    }
}

/// What a rule reads: the evaluation context at the top, or one element inside `map`, `filter`, `reduce` ….
struct RuleData {
    /// The top: the context, with `targetingKey` and `$flagd` (`flagKey`, `timestamp`) beside its attributes.
    var context: EvaluationContext?
    var flagKey: String
    /// Unix seconds; nil: now, read only when a rule asks for it.
    var timestamp: Int64?
    /// Inside an iteration: the element.
    var value: JSONValue

    init(context: EvaluationContext, flagKey: String, timestamp: Int64? = nil) {
        self.context = context
        self.flagKey = flagKey
        self.timestamp = timestamp
        self.value = .null
    }

    func scoped(_ value: JSONValue) -> RuleData {
        var data = self
        data.context = nil
        data.value = value
        return data
    }

    func lookup(_ path: some Collection<String>) -> JSONValue {
        guard let first = path.first else { return whole }
        var current: JSONValue
        if let context {
            switch first {
            case "targetingKey": current = context.targetingKey.map(JSONValue.string) ?? .null
            case "$flagd": current = flagd
            default: current = context.attributes[first] ?? .null
            }
        } else {
            current = Self.step(value, first)
        }
        for segment in path.dropFirst() { current = Self.step(current, segment) }
        return current
    }

    private var flagd: JSONValue {
        ["flagKey": .string(flagKey), "timestamp": .integer(timestamp ?? Int64(time(nil)))]
    }

    private static func step(_ value: JSONValue, _ segment: String) -> JSONValue {
        switch value {
        case .object(let object): return object[segment] ?? .null
        case .array(let elements):
            guard let index = Int(segment), elements.indices.contains(index) else { return .null }
            return elements[index]
        default: return .null
        }
    }

    private var whole: JSONValue {
        guard let context else { return value }
        var object = context.attributes
        object["targetingKey"] = context.targetingKey.map(JSONValue.string) ?? .null
        object["$flagd"] = flagd
        return .object(object)
    }
}

extension Rule {
    func evaluate(_ data: RuleData) -> JSONValue {
        switch self {
        case .literal(let value): return value
        case .array(let rules): return .array(rules.map { $0.evaluate(data) })
        case .variable(let path, let fallback):
            let found = data.lookup(path)
            if case .null = found, let fallback { return fallback.evaluate(data) }
            return found
        case .computedVariable(let rule, let fallback):
            let name = rule.evaluate(data)
            let path: [String] =
                switch name {
                case .string(let text): text.isEmpty ? [] : text.split(separator: ".").map(String.init)
                case .null: []
                default: [JSLogic.string(name)]
                }
            let found = data.lookup(path)
            if case .null = found, let fallback { return fallback.evaluate(data) }
            return found
        case .operation(let operation, let arguments):
            return operation.apply(arguments, data)
        case .semVer(let rule, let comparison, let version):
            guard let left = SemanticVersion(JSLogic.string(rule.evaluate(data))) else { return .null }
            return Flagd.compare(left, comparison, version)
        }
    }
}

extension Rule.Operation {
    func apply(_ arguments: [Rule], _ data: RuleData) -> JSONValue {
        func value(_ index: Int) -> JSONValue { arguments[index].evaluate(data) }
        func values() -> [JSONValue] { arguments.map { $0.evaluate(data) } }
        func numbers() -> [Double] { arguments.map { JSLogic.number($0.evaluate(data)) } }
        switch self {
        case .equal: return .bool(JSLogic.looselyEqual(value(0), value(1)))
        case .notEqual: return .bool(!JSLogic.looselyEqual(value(0), value(1)))
        case .strictEqual: return .bool(JSLogic.strictlyEqual(value(0), value(1)))
        case .strictNotEqual: return .bool(!JSLogic.strictlyEqual(value(0), value(1)))
        case .not: return .bool(!JSLogic.truthy(value(0)))
        case .truthy: return .bool(JSLogic.truthy(value(0)))
        case .or:
            var last = JSONValue.bool(false)
            for argument in arguments {
                last = argument.evaluate(data)
                if JSLogic.truthy(last) { return last }
            }
            return last
        case .and:
            var last = JSONValue.bool(true)
            for argument in arguments {
                last = argument.evaluate(data)
                if !JSLogic.truthy(last) { return last }
            }
            return last
        case .conditional, .ternary:
            var index = 0
            while index + 1 < arguments.count {
                if JSLogic.truthy(value(index)) { return value(index + 1) }
                index += 2
            }
            return index < arguments.count ? value(index) : .null
        case .less, .lessOrEqual:
            let operands = values()
            let inclusive = self == .lessOrEqual
            for index in 0..<(operands.count - 1)
            where !JSLogic.less(operands[index], operands[index + 1], orEqual: inclusive) {
                return false
            }
            return true
        case .greater: return .bool(JSLogic.less(value(1), value(0), orEqual: false))
        case .greaterOrEqual: return .bool(JSLogic.less(value(1), value(0), orEqual: true))
        case .contains:
            let needle = value(0)
            switch value(1) {
            case .string(let haystack): return .bool(haystack.contains(JSLogic.string(needle)))
            case .array(let elements): return .bool(elements.contains { JSLogic.strictlyEqual($0, needle) })
            default: return false
            }
        case .cat: return .string(values().map(JSLogic.string).joined())
        case .substr:
            let text = Array(JSLogic.string(value(0)))
            let start = Int(clamping: JSLogic.integer(value(1)))
            var from = start < 0 ? Swift.max(0, text.count + start) : Swift.min(start, text.count)
            var to = text.count
            if arguments.count == 3 {
                let length = Int(clamping: JSLogic.integer(value(2)))
                to = length < 0 ? Swift.max(from, text.count + length) : Swift.min(text.count, from + length)
            }
            from = Swift.min(from, to)
            return .string(String(text[from..<to]))
        case .plus: return JSLogic.number(numbers().reduce(0, +))
        case .times: return JSLogic.number(numbers().reduce(1, *))
        case .minus:
            let operands = numbers()
            return JSLogic.number(operands.count == 1 ? -operands[0] : operands[0] - operands[1])
        case .divide:
            let operands = numbers()
            return JSLogic.number(operands[0] / operands[1])
        case .modulo:
            let operands = numbers()
            return JSLogic.number(operands[0].truncatingRemainder(dividingBy: operands[1]))
        case .max, .min:
            let operands = numbers()
            guard let first = operands.first else { return .null }
            return JSLogic.number(
                operands.dropFirst().reduce(first) { self == .max ? Swift.max($0, $1) : Swift.min($0, $1) })
        case .merge:
            return .array(
                values().flatMap { value -> [JSONValue] in
                    if case .array(let elements) = value { return elements }
                    return [value]
                })
        case .missing:
            var keys = values()
            if case .array(let first)? = keys.first { keys = first }
            return .array(JSLogic.missing(keys, data))
        case .missingSome:
            let needed = JSLogic.integer(value(0))
            guard case .array(let keys) = value(1) else { return [] }
            let missing = JSLogic.missing(keys, data)
            return Int64(keys.count - missing.count) >= needed ? [] : .array(missing)
        case .map, .filter, .all, .none, .some, .reduce:
            return iterate(arguments, data)
        case .fractional: return Flagd.fractional(values(), data)
        case .semVer: return Flagd.semVer(values())
        case .startsWith, .endsWith:
            guard case .string(let text) = value(0), case .string(let affix) = value(1) else { return .null }
            return .bool(self == .startsWith ? text.hasPrefix(affix) : text.hasSuffix(affix))
        }
    }

    private func iterate(_ arguments: [Rule], _ data: RuleData) -> JSONValue {
        guard case .array(let elements) = arguments[0].evaluate(data) else {
            switch self {
            case .map, .filter: return []
            case .reduce: return arguments.count == 3 ? arguments[2].evaluate(data) : .null
            case .none: return true
            default: return false
            }
        }
        let body = arguments[1]
        switch self {
        case .map: return .array(elements.map { body.evaluate(data.scoped($0)) })
        case .filter: return .array(elements.filter { JSLogic.truthy(body.evaluate(data.scoped($0))) })
        case .all:
            return .bool(!elements.isEmpty && elements.allSatisfy { JSLogic.truthy(body.evaluate(data.scoped($0))) })
        case .none: return .bool(!elements.contains { JSLogic.truthy(body.evaluate(data.scoped($0))) })
        case .some: return .bool(elements.contains { JSLogic.truthy(body.evaluate(data.scoped($0))) })
        default:
            var accumulator = arguments.count == 3 ? arguments[2].evaluate(data) : .null
            for element in elements {
                accumulator = body.evaluate(data.scoped(["current": element, "accumulator": accumulator]))
            }
            return accumulator
        }
    }
}

/// JsonLogic's JavaScript conversions.
enum JSLogic {
    static func truthy(_ value: JSONValue) -> Bool {
        switch value {
        case .null: false
        case .bool(let flag): flag
        case .integer(let number): number != 0
        case .double(let number): number != 0 && !number.isNaN
        case .string(let text): !text.isEmpty
        case .array(let elements): !elements.isEmpty
        case .object: true
        }
    }

    /// JavaScript's `Number(value)`.
    static func number(_ value: JSONValue) -> Double {
        switch value {
        case .null: 0
        case .bool(let flag): flag ? 1 : 0
        case .integer(let number): Double(number)
        case .double(let number): number
        case .string(let text):
            text.trimmingCharacters(in: .whitespaces).isEmpty
                ? 0 : Double(text.trimmingCharacters(in: .whitespaces)) ?? .nan
        case .array(let elements): elements.isEmpty ? 0 : elements.count == 1 ? number(elements[0]) : .nan
        case .object: .nan
        }
    }

    static func integer(_ value: JSONValue) -> Int64 {
        let number = number(value)
        return number.isFinite ? Int64(clamping: Int(number.rounded(.towardZero))) : 0
    }

    /// A number as JSON: whole numbers as integers.
    static func number(_ value: Double) -> JSONValue {
        if value.rounded() == value, abs(value) < 9.0e15 { return .integer(Int64(value)) }
        return .double(value)
    }

    /// JavaScript's `String(value)`.
    static func string(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool(let flag): flag ? "true" : "false"
        case .integer(let number): String(number)
        case .double(let number):
            number.isNaN
                ? "NaN" : number.rounded() == number && abs(number) < 1e21 ? String(Int64(number)) : String(number)
        case .string(let text): text
        case .array(let elements): elements.map { $0 == .null ? "" : string($0) }.joined(separator: ",")
        case .object: "[object Object]"
        }
    }

    static func strictlyEqual(_ left: JSONValue, _ right: JSONValue) -> Bool {
        switch (left, right) {
        case (.integer, .double), (.double, .integer), (.double, .double): number(left) == number(right)
        case (.array, _), (.object, _): false
        default: left == right
        }
    }

    /// JavaScript's `==` (arrays and objects are equal to nothing but themselves, which a rule cannot name).
    static func looselyEqual(_ left: JSONValue, _ right: JSONValue) -> Bool {
        switch (left, right) {
        case (.null, .null): true
        case (.null, _), (_, .null): false
        case (.string(let a), .string(let b)): a == b
        case (.array, .array), (.object, .object), (.array, .object), (.object, .array): false
        case (.array, _), (.object, _): looselyEqual(.string(string(left)), right)
        case (_, .array), (_, .object): looselyEqual(left, .string(string(right)))
        default: number(left) == number(right)
        }
    }

    /// JavaScript's `<` (or `<=`): two strings compare as text, anything else as numbers.
    static func less(_ left: JSONValue, _ right: JSONValue, orEqual: Bool) -> Bool {
        if case .string(let a) = left, case .string(let b) = right {
            return orEqual ? a <= b : a < b
        }
        let a = number(left)
        let b = number(right)
        return orEqual ? a <= b : a < b
    }

    static func missing(_ keys: [JSONValue], _ data: RuleData) -> [JSONValue] {
        keys.filter { key in
            let path = string(key).split(separator: ".").map(String.init)
            switch data.lookup(path) {
            case .null, .string(""): return true
            default: return false
            }
        }
    }
}
