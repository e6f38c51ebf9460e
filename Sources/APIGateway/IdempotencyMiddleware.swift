import BizAuth
import BizEvents
import BizStorage
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SQLKit
import Synchronization

extension HTTPField.Name {
    static let idempotencyKey = Self("Idempotency-Key")!
    static let idempotentReplayed = Self("Idempotent-Replayed")!
}

/// `Idempotency-Key` on `POST`: the first request with a key runs and its successful answer is kept for 24 hours; a
/// retry with the same key and the same request gets that answer again (`Idempotent-Replayed: true`) instead of
/// creating a second resource. The same key with a different request is refused (422); a retry while the first is
/// still running gets 409. Keys are scoped to the caller. Error answers (4xx and 5xx) are not kept: they created
/// nothing, so a retry simply runs again, and no refused body (which may quote personal data) is stored.
///
/// A secret shown once (an answer under `Cache-Control: no-store`: a client secret, a webhook's signing secret, a
/// generated password) is never
/// kept: the stored answer has those fields removed, so a replay shows the resource without them (rotate the secret
/// or reset the password for a new one).
///
/// The table stays bounded: expired rows are swept (at most once a `sweepInterval`, by whichever request comes), and
/// a caller keeps at most `keysPerCaller` keys, its oldest giving way to its newest.
struct IdempotencyMiddleware: RouterMiddleware {
    typealias Context = GatewayContext
    var store: any SQLStore
    var lifetime: Duration = .seconds(24 * 3600)
    var keysPerCaller = 10_000
    var sweepInterval: Duration = .seconds(60)
    let sweeper = Sweeper()

    init(store: any SQLStore) {
        self.store = store
    }

    /// When the last sweep of expired keys ran.
    final class Sweeper: Sendable {
        private let last = Mutex<ContinuousClock.Instant?>(nil)

        /// Whether a sweep is due now; if so, it counts as started.
        func due(every interval: Duration) -> Bool {
            let now = ContinuousClock.now
            return last.withLock { last in
                if let previous = last, now - previous < interval { return false }
                last = now
                return true
            }
        }
    }

    static let migrations: [Migration] = [
        Migration(id: "gateway.1.idempotency") { flavor in
            [
                """
                CREATE TABLE idempotency_keys (
                    caller TEXT NOT NULL,
                    idempotency_key TEXT NOT NULL,
                    request_hash TEXT NOT NULL,
                    status INTEGER,
                    content_type TEXT,
                    location TEXT,
                    etag TEXT,
                    body \(flavor.blobType),
                    created_at TEXT NOT NULL,
                    PRIMARY KEY (caller, idempotency_key))
                """
            ]
        },
        Migration(id: "gateway.2.idempotency-sweep") { _ in
            [
                "CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at)",
                "CREATE INDEX idempotency_keys_caller_created ON idempotency_keys (caller, created_at)",
            ]
        },
    ]

    func handle(_ request: Request, context: GatewayContext, next: (Request, GatewayContext) async throws -> Response)
        async throws -> Response
    {
        guard request.method == .post, let key = request.headers[.idempotencyKey] else {
            return try await next(request, context)
        }
        guard (1...255).contains(key.utf8.count), key.utf8.allSatisfy({ $0 >= 0x21 && $0 <= 0x7E }) else {
            throw Problem.badRequest(
                "Idempotency-Key must be 1 to 255 visible ASCII characters", field: "Idempotency-Key")
        }
        guard let caller = context.principal?.subject else { return try await next(request, context) }
        var request = request
        let body = try await request.collectBody(upTo: context.maxUploadSize)
        var hasher = SHA256()
        hasher.update(data: Data("\(request.method.rawValue) \(request.uri.path)\n".utf8))
        hasher.update(data: Data(body.readableBytesView))
        let hash = hasher.finalize().hexString
        let now = EventTimestamp.now()
        let expired = EventTimestamp(
            millisecondsSinceEpoch: now.millisecondsSinceEpoch - lifetime.components.seconds * 1000
        ).rfc3339
        let sweep = sweeper.due(every: sweepInterval)
        let keysPerCaller = keysPerCaller
        // SQLite needs a LIMIT before OFFSET (-1: none); PostgreSQL takes OFFSET alone.
        let everyRowAfter = store.flavor == .sqlite ? "LIMIT -1 OFFSET" : "OFFSET"

        let claimed = try await store.transaction { database -> Bool in
            if sweep {
                try await database.raw("DELETE FROM idempotency_keys WHERE created_at < \(bind: expired)").run()
            }
            try await database.raw(
                """
                DELETE FROM idempotency_keys WHERE caller = \(bind: caller) AND idempotency_key = \(bind: key)
                AND created_at < \(bind: expired)
                """
            ).run()
            // Room for one more key of this caller: its oldest give way.
            try await database.raw(
                """
                DELETE FROM idempotency_keys WHERE caller = \(bind: caller) AND idempotency_key IN
                (SELECT idempotency_key FROM idempotency_keys WHERE caller = \(bind: caller)
                ORDER BY created_at DESC, idempotency_key \(unsafeRaw: everyRowAfter) \(bind: keysPerCaller - 1))
                """
            ).run()
            let inserted = try await database.raw(
                """
                INSERT INTO idempotency_keys (caller, idempotency_key, request_hash, created_at)
                VALUES (\(bind: caller), \(bind: key), \(bind: hash), \(bind: now.rfc3339))
                ON CONFLICT (caller, idempotency_key) DO NOTHING RETURNING caller
                """
            ).all()
            return !inserted.isEmpty
        }
        if !claimed { return try await replay(caller: caller, key: key, hash: hash) }

        let response: Response
        do {
            response = try await next(request, context)
        } catch {
            try await forget(caller: caller, key: key)
            throw error
        }
        guard response.status.code < 400 else {
            try await forget(caller: caller, key: key)
            return response
        }
        var kept = response
        let collector = BodyCollector()
        try await response.body.write(CollectingWriter(collector: collector))
        let buffer = collector.buffer.withLock { $0 }
        let storedBody =
            response.headers[.cacheControl]?.contains("no-store") == true
            ? Self.withoutSecrets(Array(buffer.readableBytesView)) : Array(buffer.readableBytesView)
        try await store.transaction { database in
            try await database.raw(
                """
                UPDATE idempotency_keys SET status = \(bind: Int(response.status.code)),
                content_type = \(bind: response.headers[.contentType]), location = \(bind: response.headers[.location]),
                etag = \(bind: response.headers[.eTag]), body = \(bind: Data(storedBody))
                WHERE caller = \(bind: caller) AND idempotency_key = \(bind: key)
                """
            ).run()
        }
        kept.body = .init(byteBuffer: buffer)
        return kept
    }

    /// The fields that hold a secret shown once.
    static let secretFields: Set<String> = ["client_secret", "generated_password", "password", "secret"]

    /// A JSON body with every secret field removed, at any depth; an unparsable body keeps nothing.
    static func withoutSecrets(_ body: [UInt8]) -> [UInt8] {
        func strip(_ value: JSONValue) -> JSONValue {
            switch value {
            case .object(let fields):
                .object(fields.filter { !secretFields.contains($0.key) }.mapValues(strip))
            case .array(let items): .array(items.map(strip))
            default: value
            }
        }
        guard let parsed = try? JSONParser.parse(body) else { return [] }
        return strip(parsed).canonicalBytes()
    }

    private func replay(caller: String, key: String, hash: String) async throws -> Response {
        let row = try await store.read { database in
            try await database.raw(
                """
                SELECT request_hash, status, content_type, location, etag, body FROM idempotency_keys
                WHERE caller = \(bind: caller) AND idempotency_key = \(bind: key)
                """
            ).first()
        }
        guard let row else { throw Problem(.conflict, "a request with this Idempotency-Key is in progress; retry") }
        guard try row.decode(column: "request_hash", as: String.self) == hash else {
            throw Problem(
                .unprocessableContent, "this Idempotency-Key was used for a different request",
                field: "Idempotency-Key"
            )
        }
        guard let status = try row.decode(column: "status", as: Int?.self) else {
            throw Problem(.conflict, "a request with this Idempotency-Key is in progress; retry")
        }
        var headers: HTTPFields = [.idempotentReplayed: "true"]
        if let value = try row.decode(column: "content_type", as: String?.self) { headers[.contentType] = value }
        if let value = try row.decode(column: "location", as: String?.self) { headers[.location] = value }
        if let value = try row.decode(column: "etag", as: String?.self) { headers[.eTag] = value }
        let body = try row.decode(column: "body", as: Data?.self) ?? Data()
        return Response(
            status: HTTPResponse.Status(code: status), headers: headers,
            body: .init(byteBuffer: ByteBuffer(bytes: body))
        )
    }

    private func forget(caller: String, key: String) async throws {
        try await store.transaction { database in
            try await database.raw(
                "DELETE FROM idempotency_keys WHERE caller = \(bind: caller) AND idempotency_key = \(bind: key)"
            ).run()
        }
    }
}

/// Collects a response body written through Hummingbird's writer API, so it can be stored and sent again.
final class BodyCollector: Sendable {
    let buffer = Mutex(ByteBuffer())
}

struct CollectingWriter: ResponseBodyWriter {
    let collector: BodyCollector

    mutating func write(_ buffer: ByteBuffer) async throws {
        collector.buffer.withLock { stored in
            var copy = buffer
            stored.writeBuffer(&copy)
        }
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
