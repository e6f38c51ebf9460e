import BizEvents
import BizTesting
import Foundation
import Testing

@testable import BizFlags

@Suite("Feature flags: flagd's format and evaluation rules")
struct FlagEvaluationTests {
    static func flags(_ json: JSONValue) throws -> FlagSet { try FlagSet.parse(json.canonicalBytes()) }

    /// A flag file exercising every operation flagd adds, `$ref`, and JsonLogic's own.
    static let file: JSONValue = [
        "$evaluators": [
            "staff": ["in": ["admin", ["var": "roles"]]],
            "company-mail": ["ends_with": [["var": "email"], "@biz-retail.test"]],
        ],
        "metadata": ["version": "7"],
        "flags": [
            "split": [
                "state": "ENABLED", "variants": ["red": "red", "green": "green", "blue": "blue"],
                "defaultVariant": "red",
                "targeting": ["fractional": [["red", 25], ["green", 50], ["blue", 25]]],
            ],
            "tenant-rollout": [
                "state": "ENABLED", "variants": ["on": true, "off": false], "defaultVariant": "off",
                "targeting": ["fractional": [["var": "tenant_id"], ["on", 30], ["off", 70]]],
                "metadata": ["owner": "platform"],
            ],
            "even": [
                "state": "ENABLED", "variants": ["a": 1, "b": 2, "c": 3], "defaultVariant": "a",
                "targeting": [
                    "fractional": [["cat": [["var": "$flagd.flagKey"], ["var": "tenant_id"]]], ["a"], ["b"], ["c"]]
                ],
            ],
            "versions": [
                "state": "ENABLED", "variants": ["new": "new", "old": "old", "beta": "beta"], "defaultVariant": "old",
                "targeting": [
                    "if": [
                        ["sem_ver": [["var": "app_version"], ">=", "2.1.0"]], "new",
                        ["sem_ver": [["var": "app_version"], "~", "2.0"]], "beta",
                        ["sem_ver": [["var": "app_version"], "^", "v1"]], "old", nil,
                    ]
                ],
            ],
            "staff-only": [
                "state": "ENABLED", "variants": ["yes": ["limit": 100], "no": ["limit": 10]], "defaultVariant": "no",
                "targeting": [
                    "if": [
                        ["or": [["$ref": "staff"], ["$ref": "company-mail"]]], "yes",
                        ["starts_with": [["var": "email"], "vip."]], "yes", "no",
                    ]
                ],
            ],
            "no-default": [
                "state": "ENABLED", "variants": ["on": true, "off": false], "defaultVariant": nil,
                "targeting": ["if": [["==": [["var": "tenant_id"], "t-1"]], "on", nil]],
            ],
            "static": ["state": "ENABLED", "variants": ["on": true, "off": false], "defaultVariant": "on"],
            "off": ["state": "DISABLED", "variants": ["on": true], "defaultVariant": "on"],
        ],
    ]

    static func contexts() -> [EvaluationContext] {
        let versions = ["2.1.0", "2.0.9", "2.0.0-rc.1", "1.4.2", "v1.0", "3", "0.9.1", "2.1.0-alpha", "not-a-version"]
        let emails = ["ana@biz-retail.test", "vip.bruno@example.com", "carla@example.com"]
        var result: [EvaluationContext] = []
        for index in 0..<240 {
            var context = EvaluationContext(
                user:
                    "user-\(index)-\(UUID(uuidString: "00000000-0000-4000-8000-\(String(format: "%012d", index * 7919))")!)",
                tenant: index % 11 == 0 ? "t-1" : "tenant-\(index * 31)", roles: index % 5 == 0 ? ["admin"] : ["viewer"]
            )
            context.attributes["app_version"] = .string(versions[index % versions.count])
            context.attributes["email"] = .string(emails[index % emails.count])
            if index % 17 == 0 { context.targetingKey = nil }
            result.append(context)
        }
        return result
    }

    @Test("MurmurHash3 x86_32 gives the reference vectors")
    func murmur() {
        #expect(MurmurHash3.x86Hash32([UInt8]()) == 0)
        #expect(MurmurHash3.x86Hash32([UInt8](), seed: 1) == 0x514e_28b7)
        #expect(MurmurHash3.x86Hash32("hello".utf8) == 0x248b_fa47)
        #expect(MurmurHash3.x86Hash32("The quick brown fox jumps over the lazy dog".utf8) == 0x2e4f_f723)
        #expect(MurmurHash3.x86Hash32("abc".utf8) == 0xb3dd_93fa)
    }

    @Test("every case evaluates as flagd's reference provider (openfeature-flagd-core) evaluates it")
    func sameAsFlagdReference() async throws {
        let flags = FeatureFlags(try Self.flags(Self.file))
        let keys = ["split", "tenant-rollout", "even", "versions", "staff-only", "no-default", "static", "off"]
        var cases: [JSONValue] = []
        var ours: [FlagResolution<JSONValue>] = []
        for context in Self.contexts() {
            for key in keys {
                var request: JSONValue = ["flag": .string(key), "attributes": .object(context.attributes)]
                if let targetingKey = context.targetingKey {
                    request = .object(request.objectValue!.merging(["targetingKey": .string(targetingKey)]) { $1 })
                }
                cases.append(request)
                ours.append(FeatureFlags.resolve(key, in: flags.flagSet, default: .null, context: context) { $0 })
            }
        }
        let input: JSONValue = ["flags": Self.file, "cases": .array(cases)]
        let result = try await runProgram(
            "/usr/bin/env", ["python3", BizRetailProcess.packageRoot + "/Tests/Interop/flagd_reference.py"],
            stdin: input.canonicalString())
        #expect(result.status == 0, "\(result.error)")
        let theirs = try #require(try JSONParser.parse(Array(result.output.utf8)).arrayValue)
        try #require(theirs.count == ours.count)
        var buckets: [String: Int] = [:]
        for (index, (mine, reference)) in zip(ours, theirs).enumerated() {
            let variant = reference["variant"]?.stringValue
            #expect(mine.variant == variant, "case \(index): \(cases[index]) → ours \(mine.variant ?? "nil")")
            #expect(mine.reason.rawValue == reference["reason"]?.stringValue, "case \(index): \(cases[index])")
            if mine.key == "split" { buckets[mine.variant ?? "-", default: 0] += 1 }
        }
        // The split is a split: every variant is chosen for some keys.
        #expect(buckets.keys.sorted() == ["-", "blue", "green", "red"].filter { buckets[$0] != nil })
        #expect(buckets["green", default: 0] > buckets["blue", default: 0])
    }

    @Test(
        "typed evaluations: values, reasons, the caller's default on a missing flag, a type mismatch or a disabled flag"
    )
    func typed() throws {
        let flags = FeatureFlags(try Self.flags(Self.file))
        let admin = EvaluationContext(user: "u-1", tenant: "t-1", roles: ["admin"])
        #expect(flags.object("staff-only", default: [:], context: admin) == ["limit": 100])
        let rollout = flags.booleanDetails("tenant-rollout", default: true, context: admin)
        #expect(rollout.reason == .targetingMatch)
        #expect(rollout.metadata == ["owner": "platform", "version": "7"])
        #expect(flags.booleanDetails("static", default: false, context: admin).reason == .static)
        #expect(flags.boolean("static", default: false, context: admin))
        let missing = flags.booleanDetails("nope", default: true, context: admin)
        #expect(missing.value && missing.reason == .error && missing.errorCode == .flagNotFound)
        let mismatch = flags.stringDetails("static", default: "x", context: admin)
        #expect(mismatch.value == "x" && mismatch.errorCode == .typeMismatch)
        let disabled = flags.booleanDetails("off", default: false, context: admin)
        #expect(!disabled.value && disabled.reason == .disabled)
        #expect(flags.number("even", default: 0, context: admin) >= 1)
        let none = flags.booleanDetails(
            "no-default", default: true, context: EvaluationContext(user: "u", tenant: "t-2"))
        #expect(none.value && none.reason == .default && none.variant == nil)
        #expect(flags.all(context: admin).map(\.key) == flags.flagSet.flags.keys.sorted())
    }

    @Test(
        "a malformed flag file is refused with where and why",
        arguments: [
            ("{", "not JSON"),
            (
                #"{"flags": {"f": {"state": "ON", "variants": {"a": 1}}}}"#,
                "flags.f.state: required: ENABLED or DISABLED"
            ),
            (
                #"{"flags": {"f": {"state": "ENABLED", "variants": {"a": 1, "b": "x"}}}}"#,
                "flags.f.variants: the variants must all be"
            ),
            (
                #"{"flags": {"f": {"state": "ENABLED", "variants": {"a": 1}, "defaultVariant": "b"}}}"#,
                "flags.f.defaultVariant: must name one of the variants"
            ),
            (
                #"{"flags": {"f": {"state": "ENABLED", "variants": {"a": 1}, "targeting": {"fractionl": [["a", 1]]}}}}"#,
                #"flags.f.targeting: unknown operation "fractionl""#
            ),
            (
                #"{"flags": {"f": {"state": "ENABLED", "variants": {"a": 1}, "targeting": {"if": [{"$ref": "nope"}, "a", null]}}}}"#,
                "flags.f.targeting.if[0]: $ref names no evaluator"
            ),
            (
                #"{"flags": {"f": {"state": "ENABLED", "variants": {"a": 1}, "targeting": {"sem_ver": ["1.0.0", ">"]}}}}"#,
                #"flags.f.targeting: "sem_ver" takes 3 argument(s), not 2"#
            ),
            (
                #"{"flags": {"f": {"state": "ENABLED", "variants": {"a": 1}, "defaultvariant": "a"}}}"#,
                "flags.f.defaultvariant: unknown key"
            ),
            (#"{"flag": {}}"#, "flag: unknown key"),
        ])
    func refused(file: String, expected: String) {
        #expect {
            _ = try FlagSet.parse(Array(file.utf8))
        } throws: { error in
            (error as? FlagSetError)?.description.hasPrefix(expected) == true
        }
    }

    @Test("JsonLogic's own operations follow its JavaScript semantics")
    func jsonLogic() throws {
        func evaluate(_ rule: JSONValue, _ attributes: [String: JSONValue] = [:]) throws -> JSONValue {
            try Rule.compile(rule, at: "r").evaluate(
                RuleData(
                    context: EvaluationContext(targetingKey: "k", attributes: attributes), flagKey: "f", timestamp: 1))
        }
        #expect(try evaluate(["==": [1, "1"]]) == true)
        #expect(try evaluate(["===": [1, "1"]]) == false)
        #expect(try evaluate(["!": [[]]]) == true)
        #expect(try evaluate(["<": [1, ["var": "n"], 3]], ["n": 2]) == true)
        #expect(try evaluate(["<=": [1, ["var": "n"], 3]], ["n": 4]) == false)
        #expect(try evaluate(["cat": ["a", 1, true, nil]]) == "a1truenull")
        #expect(try evaluate(["substr": ["jsonlogic", -5, 3]]) == "log")
        #expect(try evaluate(["+": ["1", .double(2.5)]]) == .double(3.5))
        #expect(try evaluate(["%": [7, 3]]) == 1)
        #expect(try evaluate(["var": ["missing.path", "fallback"]]) == "fallback")
        #expect(try evaluate(["var": "a.1"], ["a": ["x", "y"]]) == "y")
        #expect(try evaluate(["var": "$flagd.flagKey"]) == "f")
        #expect(try evaluate(["missing": ["a", "b"]], ["a": 1]) == ["b"])
        #expect(try evaluate(["missing_some": [1, ["a", "b"]]], ["a": 1]) == [])
        #expect(try evaluate(["map": [["var": "xs"], ["*": [["var": ""], 2]]]], ["xs": [1, 2]]) == [2, 4])
        #expect(try evaluate(["filter": [["var": "xs"], [">": [["var": ""], 1]]]], ["xs": [1, 2, 3]]) == [2, 3])
        #expect(
            try evaluate(
                ["reduce": [["var": "xs"], ["+": [["var": "current"], ["var": "accumulator"]]], 0]], ["xs": [1, 2, 3]])
                == 6)
        #expect(try evaluate(["all": [[], true]]) == false)
        #expect(
            try evaluate(["some": [["var": "roles"], ["==": [["var": ""], "admin"]]]], ["roles": ["admin"]]) == true)
        #expect(try evaluate(["merge": [[1], 2, [3, [4]]]]) == [1, 2, 3, [4]])
        #expect(try evaluate(["in": ["log", "jsonlogic"]]) == true)
        #expect(try evaluate(["max": [1, 3, 2]]) == 3)
        #expect(try evaluate(["if": [false, 1, nil, 2, 3]]) == 3)
    }

    @Test("a flag file edited while it is watched is in force within a second; a malformed edit is refused")
    func watched() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/flags.json"
            func write(_ text: String) throws {
                try Data(text.utf8).write(to: URL(fileURLWithPath: path + ".tmp"))
                _ = rename(path + ".tmp", path)
            }
            let enabled =
                #"{"flags": {"f": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on"}}}"#
            try write(enabled)
            let flags = FeatureFlags(try FlagFileWatcher.load(path))
            let changes = Changes()
            flags.observe { await changes.add($0) }
            let watcher = FlagFileWatcher(
                path: path, flags: flags, interval: .milliseconds(50), logger: .init(label: "test"))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await watcher.run() }
                defer { group.cancelAll() }
                let context = EvaluationContext(user: "u", tenant: "t")
                #expect(flags.boolean("f", default: false, context: context))
                try write(
                    enabled.replacingOccurrences(of: #""defaultVariant": "on""#, with: #""defaultVariant": "off""#))
                try await eventually { !flags.boolean("f", default: true, context: context) }
                // The observers hear of a change after it is in force.
                try await eventually { await changes.all.count == 1 }
                let first = try #require(await changes.all.first)
                #expect(
                    first.key == "f" && first.before?["defaultVariant"] == "on"
                        && first.after?["defaultVariant"] == "off")
                try write(#"{"flags": {"f": {"state": "ENABLED"}}}"#)
                try await Task.sleep(for: .milliseconds(300))
                #expect(!flags.boolean("f", default: true, context: context))
                #expect(await changes.all.count == 1)
                try write(#"{"flags": {}}"#)
                try await eventually {
                    flags.booleanDetails("f", default: true, context: context).errorCode == .flagNotFound
                }
                try await eventually { await changes.all.count == 2 }
                #expect(await changes.all.last?.key == "f")
                #expect(await changes.all.last?.after == nil)
            }
        }
    }

    private func eventually(_ condition: () async -> Bool) async throws {
        for _ in 0..<100 {
            if await condition() { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("the condition did not hold within 2 s")
    }
}

private actor Changes {
    var all: [FlagChange] = []
    func add(_ changes: [FlagChange]) { all += changes }
}
