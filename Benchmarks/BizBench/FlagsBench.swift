import BizEvents
import BizFlags
import BizRuntime
import Foundation

/// `biz-bench flags [--evaluations N]`: what a flag evaluation and a cached secret lookup cost, per call, in the same
/// run as their baselines:
///
/// 1. a flag without targeting (its default variant: the floor of an evaluation: lock, lookup, typed value);
/// 2. flags with targeting: a `fractional` split on `tenant_id`, and an `if` on `$ref`-shared roles, `sem_ver` and
///    `ends_with`, each over the platform's context (user, tenant, roles, service);
/// 3. a secret read from `PlatformSecrets`' cache, beside a plain dictionary read of the environment.
func flagsBench(_ arguments: ArraySlice<String>) async throws {
    var count = 1_000_000
    var iterator = arguments.makeIterator()
    while let argument = iterator.next() {
        switch argument {
        case "--evaluations": count = Int(iterator.next() ?? "") ?? count
        default: throw BenchError("unknown option \(argument)")
        }
    }
    let file: JSONValue = [
        "$evaluators": ["staff": ["in": ["admin", ["var": "roles"]]]],
        "flags": [
            "static": ["state": "ENABLED", "variants": ["on": true, "off": false], "defaultVariant": "on"],
            "rollout": [
                "state": "ENABLED", "variants": ["on": true, "off": false], "defaultVariant": "off",
                "targeting": ["fractional": [["var": "tenant_id"], ["on", 25], ["off", 75]]],
            ],
            "rules": [
                "state": "ENABLED", "variants": ["on": true, "off": false], "defaultVariant": "off",
                "targeting": [
                    "if": [
                        [
                            "or": [
                                ["$ref": "staff"], ["sem_ver": [["var": "app_version"], ">=", "2.1.0"]],
                                ["ends_with": [["var": "email"], "@biz-retail.test"]],
                            ]
                        ], "on", "off",
                    ]
                ],
            ],
        ],
    ]
    let flags = FeatureFlags(try FlagSet.parse(file.canonicalBytes()))
    var context = EvaluationContext(
        user: "0190b3a4-0000-7000-8000-00000000abcd", tenant: "0190b3a4-0000-7000-8000-000000000001",
        roles: ["viewer"], service: "gateway")
    context.attributes["app_version"] = "2.0.3"
    context.attributes["email"] = "ana@example.com"

    func measure(_ name: String, _ body: () -> Bool) {
        var hits = 0
        let start = ContinuousClock.now
        for _ in 0..<count where body() { hits += 1 }
        let elapsed = ContinuousClock.now - start
        let nanoseconds = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
        print(
            String(
                format: "  %@ %8.0f ns/call  (%d calls, %d true)",
                name.padding(toLength: 44, withPad: " ", startingAt: 0),
                nanoseconds / Double(count), count, hits))
    }
    print("flag evaluation (\(count) calls each):")
    measure("no targeting (static)  <- baseline") { flags.boolean("static", default: false, context: context) }
    measure("fractional on tenant_id") { flags.boolean("rollout", default: false, context: context) }
    measure("if/or: $ref roles, sem_ver, ends_with") { flags.boolean("rules", default: false, context: context) }
    measure("missing flag (the code's default)") { flags.boolean("nope", default: false, context: context) }

    let environment = ["BIZ_MASTER_KEY": "bWFzdGVyLWtleS1zZWNyZXQ="]
    let secrets = PlatformSecrets(environment: environment)
    _ = try await secrets.secret("BIZ_MASTER_KEY")
    print("secret lookup (\(count) calls each):")
    measure("environment dictionary read  <- baseline") { environment["BIZ_MASTER_KEY"] != nil }
    measure("PlatformSecrets, cached") { secrets.cached("BIZ_MASTER_KEY") != nil }
    await secrets.shutdown()
}
