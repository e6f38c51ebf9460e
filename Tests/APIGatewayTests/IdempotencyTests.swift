import BizAuth
import BizStorage
import BizTesting
import Hummingbird
import HummingbirdTesting
import NIOCore
import SQLKit
import Synchronization
import Testing

@testable import APIGateway

/// `Idempotency-Key` over a temporary SQLite table: what is kept, for how long, and how many.
@Suite("Idempotency keys")
struct IdempotencyTests {
    /// Counts executions of `POST /things`; a body of `bad` is answered 422.
    final class Counter: Sendable {
        let runs = Mutex(0)
    }

    struct SignedIn: RouterMiddleware {
        typealias Context = GatewayContext
        func handle(
            _ request: Request, context: GatewayContext, next: (Request, GatewayContext) async throws -> Response
        )
            async throws -> Response
        {
            var context = context
            context.principal = Principal(
                subject: "user-1", tenantID: "platform", roles: ["admin"], scopes: [], ownerType: "user", tokenID: "t")
            return try await next(request, context)
        }
    }

    func withRoutes(
        _ configure: (inout IdempotencyMiddleware) -> Void,
        _ body: @Sendable (any TestClientProtocol, Counter, any SQLStore) async throws -> Void
    ) async throws {
        try await TestDatabases.withStore(.sqlite, migrations: IdempotencyMiddleware.migrations) { store in
            var middleware = IdempotencyMiddleware(store: store)
            configure(&middleware)
            let counter = Counter()
            let router = Router(context: GatewayContext.self)
            router.add(middleware: SignedIn()).add(middleware: middleware)
            router.post("/things") { request, context -> Response in
                counter.runs.withLock { $0 += 1 }
                let body = try await request.body.collect(upTo: 1024)
                let status: HTTPResponse.Status = String(buffer: body) == "bad" ? .unprocessableContent : .created
                return Response(status: status, body: .init(byteBuffer: ByteBuffer(string: "answer")))
            }
            try await Application(router: router).test(.router) { client in
                try await body(client, counter, store)
            }
        }
    }

    func post(_ client: any TestClientProtocol, key: String, body: String = "good") async throws -> TestResponse {
        try await client.execute(
            uri: "/things", method: .post, headers: [.idempotencyKey: key], body: ByteBuffer(string: body))
    }

    func keys(_ store: any SQLStore) async throws -> [String] {
        try await store.read { database in
            try await database.raw("SELECT idempotency_key FROM idempotency_keys ORDER BY idempotency_key").all()
                .map { try $0.decode(column: "idempotency_key", as: String.self) }
        }
    }

    @Test("a success is replayed; an error answer is not kept, so its retry runs again")
    func errorsNotKept() async throws {
        try await withRoutes { _ in
        } _: { client, counter, store in
            #expect(try await post(client, key: "a").status == .created)
            let replayed = try await post(client, key: "a")
            #expect(replayed.headers[.idempotentReplayed] == "true")
            #expect(counter.runs.withLock { $0 } == 1)

            #expect(try await post(client, key: "b", body: "bad").status == .unprocessableContent)
            let again = try await post(client, key: "b", body: "bad")
            #expect(again.status == .unprocessableContent)
            #expect(again.headers[.idempotentReplayed] == nil)
            #expect(counter.runs.withLock { $0 } == 3)
            #expect(try await keys(store) == ["a"])
        }
    }

    @Test("expired keys are swept by a later request, whoever sends it")
    func sweep() async throws {
        try await withRoutes {
            $0.lifetime = .seconds(1)
            $0.sweepInterval = .zero
        } _: { client, _, store in
            _ = try await post(client, key: "old")
            try await Task.sleep(for: .milliseconds(2100))
            _ = try await post(client, key: "new")
            #expect(try await keys(store) == ["new"])
        }
    }

    @Test("a caller keeps at most keysPerCaller keys; its oldest give way")
    func capPerCaller() async throws {
        try await withRoutes {
            $0.keysPerCaller = 3
        } _: { client, counter, store in
            for key in ["k1", "k2", "k3", "k4", "k5"] {
                _ = try await post(client, key: key)
                try await Task.sleep(for: .milliseconds(5))
            }
            #expect(try await keys(store) == ["k3", "k4", "k5"])
            #expect(try await post(client, key: "k5").headers[.idempotentReplayed] == "true")
            #expect(counter.runs.withLock { $0 } == 5)
        }
    }
}
