import BizProtos
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Synchronization

/// Breaks the gateway's request cost down: `GetAccount` (or, with `--method keys`, the unauthenticated
/// `GetSigningKeys`) over gRPC straight to a running system (no HTTPS, no gateway), from `--concurrency` tasks for
/// `--seconds`.
func grpcLoad(_ arguments: ArraySlice<String>) async throws {
    var port = 15051
    var seconds = 10
    var concurrency = 64
    var token = ""
    var account = ""
    var method = "account"
    var iterator = arguments.makeIterator()
    while let argument = iterator.next() {
        switch argument {
        case "--port": port = Int(iterator.next() ?? "") ?? port
        case "--seconds": seconds = Int(iterator.next() ?? "") ?? seconds
        case "--concurrency": concurrency = Int(iterator.next() ?? "") ?? concurrency
        case "--token": token = iterator.next() ?? ""
        case "--account": account = iterator.next() ?? ""
        case "--method": method = iterator.next() ?? method
        default: throw BenchError("unknown option \(argument)")
        }
    }
    let completed = Counter()
    let accountID = account
    let duration = seconds
    let keysOnly = method == "keys"
    let metadata: Metadata = ["authorization": "Bearer \(token)"]
    try await withGRPCClient(
        transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
    ) { client in
        let teams = Bizretail_Team_V1_TeamService.Client(wrapping: client)
        let identity = Bizretail_Identity_V1_IdentityService.Client(wrapping: client)
        if !keysOnly { _ = try await teams.getAccount(.with { $0.publicID = accountID }, metadata: metadata) }
        let deadline = ContinuousClock.now + .seconds(duration)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    while ContinuousClock.now < deadline {
                        if keysOnly {
                            // No authentication, no database: the gRPC round trip alone.
                            _ = try await identity.getSigningKeys(.init())
                        } else {
                            _ = try await teams.getAccount(.with { $0.publicID = accountID }, metadata: metadata)
                        }
                        completed.value.add(1, ordering: .relaxed)
                    }
                }
            }
            try await group.waitForAll()
        }
    }
    let total = completed.value.load(ordering: .relaxed)
    print(
        String(
            format: "gRPC %@: %.0f calls/s (%d calls, %d tasks)", keysOnly ? "GetSigningKeys" : "GetAccount",
            Double(total) / Double(seconds), total, concurrency))
}

final class Counter: Sendable {
    let value = Atomic<Int>(0)
}
