import APIGateway
import BizEvents
import BizFlags
import BizRuntime
import BizTesting
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore

/// `biz-bench gateway-flags [--requests N] [--rounds N]`: what evaluating two flags adds to a gateway request, in
/// the same run as the request without them.
///
/// The embedded platform runs in this process (`InProcessPlatform`: every service, in-process gRPC, SQLite). Its
/// gateway router answers `GET /v1/teams/{id}` with a signed-in admin's bearer token, driven without a socket
/// (`app.test(.router)`): without TLS and the network the request is cheaper than over HTTPS, so the flags' share of
/// it is larger here than at a real client. The same router is driven twice: as it is, and behind a responder that
/// evaluates two flags with targeting for the caller first (a `fractional` rollout on `tenant_id`, an `if` on the
/// roles), as a route gated by two flags does. `--rounds` rounds of `--requests` sequential requests each alternate
/// which goes first; the figures are the medians of the rounds' per-request times.
func gatewayFlagsBench(_ arguments: ArraySlice<String>) async throws {
    var requests = 5_000
    var rounds = 7
    var iterator = arguments.makeIterator()
    while let argument = iterator.next() {
        switch argument {
        case "--requests": requests = Int(iterator.next() ?? "") ?? requests
        case "--rounds": rounds = Int(iterator.next() ?? "") ?? rounds
        default: throw BenchError("unknown option \(argument)")
        }
    }
    let file: JSONValue = [
        "flags": [
            "rollout": [
                "state": "ENABLED", "variants": ["on": true, "off": false], "defaultVariant": "off",
                "targeting": ["fractional": [["var": "tenant_id"], ["on", 50], ["off", 50]]],
            ],
            "staff-only": [
                "state": "ENABLED", "variants": ["on": true, "off": false], "defaultVariant": "off",
                "targeting": ["if": [["in": ["admin", ["var": "roles"]]], "on", "off"]],
            ],
        ]
    ]
    let flags = FeatureFlags(try FlagSet.parse(file.canonicalBytes()))
    let (requestCount, roundCount) = (requests, rounds)
    var logger = Logger(label: "biz-bench")
    logger.logLevel = .warning
    try await withTemporaryDirectory { directory in
        try await InProcessPlatform.run(testConfiguration(directory: directory), logger: logger) { platform in
            // Both through the same responder type, so that the only difference is the two evaluations (a router
            // behind a generic wrapper of another module costs more than the router alone, flags or not).
            let plain = Application(
                responder: FlagEvaluatingResponder(
                    inner: platform.router.buildResponder(), flags: flags, evaluate: false),
                logger: logger)
            let flagged = Application(
                responder: FlagEvaluatingResponder(
                    inner: platform.router.buildResponder(), flags: flags, evaluate: true),
                logger: logger)
            try await plain.test(.router) { plainClient in
                try await flagged.test(.router) { flaggedClient in
                    let token = try await signIn(plainClient)
                    let headers: HTTPFields = [.authorization: "Bearer \(token)", .contentType: "application/json"]
                    let id = try await plainClient.execute(
                        uri: "/v1/teams", method: .post, headers: headers,
                        body: ByteBuffer(string: #"{"name": "Vendas", "description": "Loja 1"}"#)
                    ) { response in
                        guard response.status == .created,
                            let id = try JSONParser.parse(Array(response.body.readableBytesView))["public_id"]?
                                .stringValue
                        else { throw BenchError("could not create a team: \(response.status)") }
                        return id
                    }
                    func run(_ client: any TestClientProtocol) async throws -> Double {
                        let start = ContinuousClock.now
                        for _ in 0..<requestCount {
                            try await client.execute(uri: "/v1/teams/\(id)", method: .get, headers: headers) {
                                guard $0.status == .ok else { throw BenchError("GET answered \($0.status)") }
                            }
                        }
                        return microseconds(ContinuousClock.now - start) / Double(requestCount)
                    }
                    // Warm both paths (caches, the verified-token cache, SQLite's pages).
                    _ = try await run(plainClient)
                    _ = try await run(flaggedClient)
                    var none: [Double] = []
                    var two: [Double] = []
                    for round in 0..<roundCount {
                        if round.isMultiple(of: 2) {
                            none.append(try await run(plainClient))
                            two.append(try await run(flaggedClient))
                        } else {
                            two.append(try await run(flaggedClient))
                            none.append(try await run(plainClient))
                        }
                    }
                    let evaluation = evaluationCost(flags)
                    let (baseline, measured) = (median(none), median(two))
                    let differences = zip(two, none).map { ($0 - $1) / $1 * 100 }.sorted()
                    print(
                        "gateway-flags: GET /v1/teams/{id} in-process, \(roundCount) rounds of \(requestCount) requests"
                    )
                    print(String(format: "  no flag evaluated (baseline)  %8.1f µs/request", baseline))
                    print(String(format: "  two flags evaluated           %8.1f µs/request", measured))
                    print(
                        String(
                            format: "  difference of medians %+.2f %%; per round %+.2f … %+.2f %%, median %+.2f %%",
                            (measured - baseline) / baseline * 100, differences.first ?? 0, differences.last ?? 0,
                            median(differences)))
                    print(String(format: "  the two evaluations alone     %8.2f µs", evaluation))
                }
            }
        }
    }
}

/// Signs in the test configuration's administrator with the password grant.
private func signIn(_ client: any TestClientProtocol) async throws -> String {
    let form =
        "grant_type=password&client_id=\(TestCredentials.clientID)&client_secret=\(TestCredentials.clientSecret)"
        + "&username=\(TestCredentials.adminEmail)"
        + "&password=\(TestCredentials.adminPassword.replacingOccurrences(of: " ", with: "+"))"
    return try await client.execute(
        uri: "/oauth2/token", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
        body: ByteBuffer(string: form)
    ) { response in
        guard let token = try JSONParser.parse(Array(response.body.readableBytesView))["access_token"]?.stringValue
        else { throw BenchError("could not sign in: \(response.status)") }
        return token
    }
}

/// The gateway's router behind two flag evaluations for the caller, as a route gated by two flags makes them (or,
/// for the baseline, the same responder without them).
private struct FlagEvaluatingResponder<Inner: HTTPResponder>: HTTPResponder where Inner.Context == GatewayContext {
    let inner: Inner
    let flags: FeatureFlags
    let evaluate: Bool

    func respond(to request: Request, context: GatewayContext) async throws -> Response {
        guard evaluate else { return try await inner.respond(to: request, context: context) }
        let caller = EvaluationContext(
            user: "0190b3a4-0000-7000-8000-00000000abcd", tenant: "0190b3a4-0000-7000-8000-000000000001",
            roles: ["admin"], service: "gateway")
        _ = flags.boolean("rollout", default: false, context: caller)
        _ = flags.boolean("staff-only", default: false, context: caller)
        return try await inner.respond(to: request, context: context)
    }
}

/// Two evaluations alone, per pair, in µs.
private func evaluationCost(_ flags: FeatureFlags) -> Double {
    let caller = EvaluationContext(
        user: "0190b3a4-0000-7000-8000-00000000abcd", tenant: "0190b3a4-0000-7000-8000-000000000001",
        roles: ["admin"], service: "gateway")
    let count = 200_000
    var hits = 0
    let start = ContinuousClock.now
    for _ in 0..<count {
        if flags.boolean("rollout", default: false, context: caller) { hits += 1 }
        if flags.boolean("staff-only", default: false, context: caller) { hits += 1 }
    }
    let elapsed = microseconds(ContinuousClock.now - start) / Double(count)
    return hits < 0 ? 0 : elapsed
}

func microseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1e6 + Double(duration.components.attoseconds) / 1e12
}

private func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return 0 }
    return sorted.count.isMultiple(of: 2)
        ? (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2 : sorted[sorted.count / 2]
}
