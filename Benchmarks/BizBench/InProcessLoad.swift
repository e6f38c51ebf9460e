import BizProtos
import BizRuntime
import BizTesting
import Foundation
import GRPCCore
import GRPCInProcessTransport
import Logging

/// The embedded gateway's service hop alone, over the in-process transport: every service assembled in this process
/// (temporary SQLite), then `--concurrency` tasks calling for `--seconds` each, in turn, the database-free
/// `GetSigningKeys` (the transport's own cost) and `GetAccount` (auth interceptor, Team service, SQLite read);
/// `--deadline` gives `GetAccount` a gRPC deadline.
func inProcessLoad(_ arguments: ArraySlice<String>) async throws {
    var seconds = 10
    var concurrency = 64
    var deadline = false
    var iterator = arguments.makeIterator()
    while let argument = iterator.next() {
        switch argument {
        case "--seconds": seconds = Int(iterator.next() ?? "") ?? seconds
        case "--concurrency": concurrency = Int(iterator.next() ?? "") ?? concurrency
        case "--deadline": deadline = true
        default: throw BenchError("unknown option \(argument)")
        }
    }
    var logger = Logger(label: "inprocess-load")
    logger.logLevel = .warning
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("biz-bench-\(UUID())").path
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try await InProcessPlatform.run(testConfiguration(directory: directory), logger: logger) { platform in
        let identity = Bizretail_Identity_V1_IdentityService.Client(wrapping: platform.client)
        let teams = Bizretail_Team_V1_TeamService.Client(wrapping: platform.client)
        let token = try await identity.issueToken(TestCredentials.adminPasswordGrant).accessToken
        var header: Metadata = ["authorization": "Bearer \(token)"]
        // With --deadline, GetAccount carries a 10 s gRPC deadline, which grpc-swift's server enforces with a timer
        // task per call (the client side does the same for a client with a timeout): what that costs.
        if deadline { header.addString("10S", forKey: "grpc-timeout") }
        let metadata = header
        let account = try await teams.createAccount(
            .with {
                $0.name = "Maria Silva"
                $0.documentRegistry = "52998224725"
                $0.email = "maria@example.com"
            }, metadata: metadata)
        let accountID = account.publicID
        for (name, call) in [
            ("GetSigningKeys (transport only)", { @Sendable in _ = try await identity.getSigningKeys(.init()) }),
            (
                "GetAccount (auth, Team, SQLite)",
                { @Sendable in _ = try await teams.getAccount(.with { $0.publicID = accountID }, metadata: metadata) }
            ),
        ] as [(String, @Sendable () async throws -> Void)] {
            let completed = Counter()
            let deadline = ContinuousClock.now + .seconds(seconds)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<concurrency {
                    group.addTask {
                        while ContinuousClock.now < deadline {
                            try await call()
                            completed.value.add(1, ordering: .relaxed)
                        }
                    }
                }
                try await group.waitForAll()
            }
            let total = completed.value.load(ordering: .relaxed)
            print(String(format: "in-process %@: %.0f calls/s", name, Double(total) / Double(seconds)))
        }
    }
}
