import BizAuth
import BizEvents
import BizMessaging
import BizOutbox
import BizServiceKit
import BizStorage
import Foundation
import SQLKit

/// How a delivery's attempts are spaced: exponential from `baseDelay`, capped at `maximumDelay`, each drawn
/// between half and all of it (jitter, so a receiver that comes back is not hit by every retry at once).
public struct RetrySchedule: Sendable, Hashable {
    public var attempts: Int
    public var baseDelay: Int64
    public var maximumDelay: Int64

    /// 10 attempts, 5 s doubling up to an hour (about 85 minutes in all).
    public init(attempts: Int = 10, baseDelay: Int64 = 5_000, maximumDelay: Int64 = 3_600_000) {
        self.attempts = attempts
        self.baseDelay = baseDelay
        self.maximumDelay = maximumDelay
    }

    /// Milliseconds to wait after the `attempt`-th attempt failed (1-based).
    public func delay(after attempt: Int) -> Int64 {
        let exponent = min(max(attempt - 1, 0), 40)
        let full = min(baseDelay.multipliedReportingOverflow(by: 1 << exponent).partialValue, maximumDelay)
        let capped = full < 0 ? maximumDelay : full
        return capped / 2 + Int64.random(in: 0...max(capped - capped / 2, 0))
    }
}

/// How an attempt ended.
public enum AttemptOutcome: Sendable, Hashable {
    case sent(code: Int)
    /// Worth another attempt (an error answer, a timeout, a refused connection).
    case retry(code: Int, error: String)
    /// Never worth another (410 Gone, a destination the policy refuses, a deleted or disabled webhook).
    case failed(code: Int, error: String)

    var code: Int {
        switch self {
        case .sent(let code), .retry(let code, _), .failed(let code, _): code
        }
    }
    var error: String? {
        switch self {
        case .sent: nil
        case .retry(_, let error), .failed(_, let error): error
        }
    }
    var name: String {
        switch self {
        case .sent: "sent"
        case .retry: "retry"
        case .failed: "failed"
        }
    }
}

/// The deliveries and their attempts. Making them is idempotent (one per event and destination); sending claims a
/// due row with a lease, so two senders never send it at once; every attempt's outcome, and the delivery's end
/// (`notification.sent`, `notification.failed`), is written in one transaction.
public struct DeliveryStore: Sendable {
    public var outbox: Outbox
    public var events: EventFactory
    public var schedule: RetrySchedule
    /// Signalled when deliveries become due now (made, or retried by hand).
    public let due = ChangeSignal()

    public init(outbox: Outbox, events: EventFactory, schedule: RetrySchedule) {
        self.outbox = outbox
        self.events = events
        self.schedule = schedule
    }

    var store: any SQLStore { outbox.store }

    /// Writes the deliveries not made yet, in the caller's transaction; returns how many were new.
    @discardableResult
    func enqueue(_ deliveries: [NewDelivery], on database: any SQLDatabase) async throws -> Int {
        var made = 0
        let now = EventTimestamp.now()
        // Many rows to a statement (17 binds each: well inside SQLite's and PostgreSQL's limits).
        for chunk in deliveries.chunked(by: 200) {
            var insert = database.insert(into: "deliveries").columns(
                "public_id", "tenant_id", "dedupe_key", "channel", "webhook_id", "rule_id", "recipient", "event_id",
                "event_type", "ownership_id", "body", "status", "attempt_count", "attempt_limit", "next_attempt_at",
                "created_at", "updated_at")
            for delivery in chunk {
                insert = insert.values(
                    SQLBind(EventID.generate()), SQLBind(delivery.tenantID), SQLBind(delivery.dedupeKey),
                    SQLBind(delivery.channel), SQLBind(delivery.webhookID), SQLBind(delivery.ruleID),
                    SQLBind(delivery.recipient), SQLBind(delivery.eventID), SQLBind(delivery.eventType),
                    SQLBind(delivery.ownershipID), SQLBind(delivery.body), SQLBind("pending"), SQLBind(0),
                    SQLBind(schedule.attempts), SQLBind(now.millisecondsSinceEpoch), SQLBind(now.rfc3339),
                    SQLBind(now.rfc3339))
            }
            made += try await insert.ignoringConflicts(with: ["dedupe_key"]).returning("id").all().count
        }
        return made
    }

    /// Up to `limit` due deliveries, leased to the caller for `lease` milliseconds.
    func claim(limit: Int, lease: Int64) async throws -> [DeliveryRecord] {
        let now = EventTimestamp.now().millisecondsSinceEpoch
        let due: SQLQueryString =
            "status = 'pending' AND next_attempt_at <= \(bind: now) AND (lease_until IS NULL OR lease_until < \(bind: now))"
        return try await store.transaction { database in
            let query: SQLQueryString =
                "UPDATE deliveries SET lease_until = \(bind: now + lease) WHERE id IN (SELECT id FROM deliveries WHERE "
                + due + " ORDER BY next_attempt_at, id LIMIT \(bind: limit)) AND " + due
                + " RETURNING \(unsafeRaw: DeliveryRecord.columns)"
            return try await database.raw(query).all().map(DeliveryRecord.init(row:))
        }
    }

    /// When the earliest pending delivery is due (ms), if any.
    func nextDue() async throws -> Int64? {
        try await store.read { database in
            try await database.raw(
                "SELECT MIN(next_attempt_at) AS due FROM deliveries WHERE status = 'pending'"
            ).first()?.decode(column: "due", as: Int64?.self)
        }
    }

    /// An attempt's outcome, to record.
    struct Attempt: Sendable {
        var outcome: AttemptOutcome
        var delivery: DeliveryRecord
        /// When it started and how long it took (ms).
        var started: Int64
        var duration: Int64
    }

    /// Records attempts and their consequence for each delivery, in one transaction (with the `notification.sent`
    /// and `notification.failed` of the deliveries they end).
    func record(_ attempts: [Attempt]) async throws {
        let now = EventTimestamp.now()
        var rows: [(Attempt, DeliveryRecord)] = []
        var terminal: [EventEnvelope] = []
        for attempt in attempts {
            var updated = attempt.delivery
            let outcome = attempt.outcome
            updated.attemptCount += 1
            updated.updatedAt = now.rfc3339
            updated.lastError = outcome.error.map { String($0.prefix(500)) }
            updated.status = Self.status(after: outcome, of: attempt.delivery)
            if case .retry = outcome {
                if updated.status == .failed {
                    updated.lastError = "gave up after \(updated.attemptCount) attempts: " + (updated.lastError ?? "")
                } else {
                    updated.nextAttemptAt = now.millisecondsSinceEpoch + schedule.delay(after: updated.attemptCount)
                }
            }
            rows.append((attempt, updated))
            if updated.status != .pending {
                terminal.append(
                    events.systemEvent(
                        NotificationsEvents.notification(updated.status == .sent ? .sent : .failed),
                        payload: updated.payload(responseCode: outcome.code), ownershipID: updated.ownershipID))
            }
        }
        let written = rows
        let events = terminal
        try await outbox.perform { database in
            // Two statements for the whole batch: the attempts, and every delivery's new state (UPDATE … FROM
            // VALUES, whose columns both databases name column1…).
            for chunk in written.chunked(by: 200) {
                var insert = database.insert(into: "delivery_attempts").columns(
                    "delivery_id", "number", "started_at", "duration_ms", "response_code", "outcome", "error")
                var rows: [SQLQueryString] = []
                for (attempt, record) in chunk {
                    insert = insert.values(
                        SQLBind(record.id), SQLBind(record.attemptCount),
                        SQLBind(EventTimestamp(millisecondsSinceEpoch: attempt.started).rfc3339),
                        SQLBind(attempt.duration), SQLBind(attempt.outcome.code), SQLBind(attempt.outcome.name),
                        SQLBind(record.lastError))
                    rows.append(
                        """
                        (CAST(\(bind: record.id) AS BIGINT), CAST(\(bind: record.status.rawValue) AS TEXT),
                        CAST(\(bind: record.attemptCount) AS INTEGER), CAST(\(bind: record.nextAttemptAt) AS BIGINT),
                        CAST(\(bind: record.lastError) AS TEXT), CAST(\(bind: record.updatedAt) AS TEXT))
                        """)
                }
                try await insert.run()
                let update: SQLQueryString =
                    """
                    UPDATE deliveries SET status = v.column2, attempt_count = v.column3, next_attempt_at = v.column4,
                    lease_until = NULL, last_error = v.column5, updated_at = v.column6 FROM (VALUES
                    """ + rows.joined(separator: ", ") + ") AS v WHERE deliveries.id = v.column1"
                try await database.raw(update).run()
            }
            return ((), events)
        }
    }

    /// What a delivery becomes after an attempt's `outcome`: a retry past its last attempt fails it.
    static func status(after outcome: AttemptOutcome, of delivery: DeliveryRecord) -> DeliveryStatus {
        switch outcome {
        case .sent: .sent
        case .failed: .failed
        case .retry: delivery.attemptCount + 1 >= delivery.attemptLimit ? .failed : .pending
        }
    }

    static func load(_ publicID: String, tenantID: String, on database: any SQLDatabase) async throws
        -> DeliveryRecord?
    {
        try await database.raw(
            """
            SELECT \(unsafeRaw: DeliveryRecord.columns) FROM deliveries
            WHERE public_id = \(bind: publicID) AND tenant_id = \(bind: tenantID)
            """
        ).first().map(DeliveryRecord.init(row:))
    }

    public func delivery(_ publicID: String, tenantID: String) async throws -> (DeliveryRecord, [DeliveryAttempt]) {
        let found = try await store.read { database -> (DeliveryRecord, [DeliveryAttempt])? in
            guard let record = try await Self.load(publicID, tenantID: tenantID, on: database) else { return nil }
            let attempts = try await database.raw(
                """
                SELECT number, started_at, duration_ms, response_code, outcome, error FROM delivery_attempts
                WHERE delivery_id = \(bind: record.id) ORDER BY number
                """
            ).all().map(DeliveryAttempt.init(row:))
            return (record, attempts)
        }
        guard let found else { throw ServiceError.notFound("delivery") }
        return found
    }

    public struct Filter: Sendable {
        public var status: DeliveryStatus?
        public var webhookID: String?
        public var eventID: String?
        public var channel: String?
        public var ruleID: String?

        public init(
            status: DeliveryStatus? = nil, webhookID: String? = nil, eventID: String? = nil, channel: String? = nil,
            ruleID: String? = nil
        ) {
            self.status = status
            self.webhookID = webhookID
            self.eventID = eventID
            self.channel = channel
            self.ruleID = ruleID
        }
    }

    /// Newest first, before the row `before` (a page token's position).
    public func deliveries(tenantID: String, filter: Filter, before: Int64?, limit: Int) async throws
        -> [DeliveryRecord]
    {
        try await store.read { database in
            var filters: [SQLQueryString] = [
                "tenant_id = \(bind: tenantID)", "id < \(bind: before ?? Int64.max)",
            ]
            if let status = filter.status { filters.append("status = \(bind: status.rawValue)") }
            if let webhook = filter.webhookID { filters.append("webhook_id = \(bind: webhook)") }
            if let event = filter.eventID { filters.append("event_id = \(bind: event)") }
            if let channel = filter.channel { filters.append("channel = \(bind: channel)") }
            if let rule = filter.ruleID { filters.append("rule_id = \(bind: rule)") }
            let query: SQLQueryString =
                "SELECT \(unsafeRaw: DeliveryRecord.columns) FROM deliveries WHERE "
                + filters.joined(separator: " AND ") + " ORDER BY id DESC LIMIT \(bind: limit)"
            return try await database.raw(query).all().map(DeliveryRecord.init(row:))
        }
    }

    /// Makes a failed delivery pending again, due now, with a new round of attempts.
    public func retry(_ publicID: String, tenantID: String) async throws -> (DeliveryRecord, [DeliveryAttempt]) {
        let now = EventTimestamp.now()
        let attempts = schedule.attempts
        try await store.transaction { database in
            guard let record = try await Self.load(publicID, tenantID: tenantID, on: database) else {
                throw ServiceError.notFound("delivery")
            }
            guard record.status == .failed else {
                throw ServiceError.conflict(
                    field: "status", problem: "is \(record.status.rawValue): only a failed delivery is retried")
            }
            try await database.raw(
                """
                UPDATE deliveries SET status = 'pending', attempt_limit = \(bind: record.attemptCount + attempts),
                next_attempt_at = \(bind: now.millisecondsSinceEpoch), lease_until = NULL,
                updated_at = \(bind: now.rfc3339) WHERE id = \(bind: record.id)
                """
            ).run()
        }
        due.signal()
        return try await delivery(publicID, tenantID: tenantID)
    }
}

/// Writes attempts as they end, many to a transaction: while one transaction commits, the attempts that end meanwhile
/// wait for the next, so a busy dispatcher commits once per batch rather than once per delivery (group commit).
actor AttemptRecorder {
    private let store: DeliveryStore
    private var queue: [(DeliveryStore.Attempt, CheckedContinuation<Void, any Error>)] = []
    private var flushing = false

    init(store: DeliveryStore) { self.store = store }

    /// Returns once `attempt` is committed.
    func record(_ attempt: DeliveryStore.Attempt) async throws {
        try await withCheckedThrowingContinuation { continuation in
            queue.append((attempt, continuation))
            if !flushing {
                flushing = true
                Task { await flush() }
            }
        }
    }

    private func flush() async {
        while !queue.isEmpty {
            let batch = queue
            queue = []
            do {
                try await store.record(batch.map(\.0))
                for (_, continuation) in batch { continuation.resume() }
            } catch {
                for (_, continuation) in batch { continuation.resume(throwing: error) }
            }
        }
        flushing = false
    }
}
