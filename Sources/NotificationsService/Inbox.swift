import BizEvents
import BizServiceKit
import BizStorage
import Foundation
import SQLKit
import Synchronization

/// One in-app notification of one user.
public struct InboxItem: Sendable, Hashable {
    public var id: Int64
    public var publicID: String
    public var tenantID: String
    public var userID: String
    public var ruleID: String
    public var eventID: String
    public var eventType: String
    public var title: String
    public var body: String
    public var createdAt: String
    public var readAt: String?

    static let columns =
        "id, public_id, tenant_id, user_id, rule_id, event_id, event_type, title, body, created_at, read_at"

    init(row: any SQLRow) throws {
        id = try row.decode(column: "id", as: Int64.self)
        publicID = try row.decode(column: "public_id", as: String.self)
        tenantID = try row.decode(column: "tenant_id", as: String.self)
        userID = try row.decode(column: "user_id", as: String.self)
        ruleID = try row.decode(column: "rule_id", as: String.self)
        eventID = try row.decode(column: "event_id", as: String.self)
        eventType = try row.decode(column: "event_type", as: String.self)
        title = try row.decode(column: "title", as: String.self)
        body = try row.decode(column: "body", as: String.self)
        createdAt = try row.decode(column: "created_at", as: String.self)
        readAt = try row.decode(column: "read_at", as: String?.self)
    }
}

/// An in-app notification to make, as the consumer finds it.
struct NewInboxItem: Sendable, Hashable {
    var tenantID: String
    var userID: String
    /// Unique per event, rule and user: a redelivered event finds it made.
    var dedupeKey: String
    var ruleID: String
    var eventID: String
    var eventType: String
    var ownershipID: String
    var title: String
    var body: String
}

/// The users' in-app notifications, and the live feed of new ones (what `WatchNotifications` streams).
public struct Inbox: Sendable {
    public var store: any SQLStore
    public let feed = InboxFeed()

    public init(store: any SQLStore) { self.store = store }

    /// Writes the items not made yet, in the caller's transaction; returns the new ones (for the feed, once
    /// committed).
    func insert(_ items: [NewInboxItem], on database: any SQLDatabase) async throws -> [InboxItem] {
        var made: [InboxItem] = []
        let now = EventTimestamp.now().rfc3339
        for item in items {
            made += try await database.raw(
                """
                INSERT INTO inbox (public_id, tenant_id, user_id, dedupe_key, rule_id, event_id, event_type,
                ownership_id, title, body, created_at) VALUES (\(bind: EventID.generate()), \(bind: item.tenantID),
                \(bind: item.userID), \(bind: item.dedupeKey), \(bind: item.ruleID), \(bind: item.eventID),
                \(bind: item.eventType), \(bind: item.ownershipID), \(bind: item.title), \(bind: item.body),
                \(bind: now)) ON CONFLICT (dedupe_key) DO NOTHING RETURNING \(unsafeRaw: InboxItem.columns)
                """
            ).all().map(InboxItem.init(row:))
        }
        return made
    }

    /// Newest first, before the row `before` (a page token's position).
    public func items(tenantID: String, userID: String, unreadOnly: Bool, before: Int64?, limit: Int) async throws
        -> [InboxItem]
    {
        try await store.read { database in
            try await database.raw(
                """
                SELECT \(unsafeRaw: InboxItem.columns) FROM inbox WHERE tenant_id = \(bind: tenantID)
                AND user_id = \(bind: userID) AND id < \(bind: before ?? Int64.max)
                \(unsafeRaw: unreadOnly ? "AND read_at IS NULL" : "") ORDER BY id DESC LIMIT \(bind: limit)
                """
            ).all().map(InboxItem.init(row:))
        }
    }

    public func unreadCount(tenantID: String, userID: String) async throws -> Int64 {
        try await store.read { database in
            try await database.raw(
                """
                SELECT COUNT(*) AS unread FROM inbox WHERE tenant_id = \(bind: tenantID) AND user_id = \(bind: userID)
                AND read_at IS NULL
                """
            ).first()?.decode(column: "unread", as: Int64.self) ?? 0
        }
    }

    /// Marks one of the user's notifications read (again: it keeps its first `read_at`).
    public func markRead(_ publicID: String, tenantID: String, userID: String) async throws -> InboxItem {
        let now = EventTimestamp.now().rfc3339
        let item = try await store.transaction { database in
            try await database.raw(
                """
                UPDATE inbox SET read_at = COALESCE(read_at, \(bind: now)) WHERE public_id = \(bind: publicID)
                AND tenant_id = \(bind: tenantID) AND user_id = \(bind: userID)
                RETURNING \(unsafeRaw: InboxItem.columns)
                """
            ).first().map(InboxItem.init(row:))
        }
        guard let item else { throw ServiceError.notFound("notification") }
        return item
    }

    /// Marks every unread notification of the user read; returns how many.
    public func markAllRead(tenantID: String, userID: String) async throws -> Int64 {
        let now = EventTimestamp.now().rfc3339
        return try await store.transaction { database in
            Int64(
                try await database.raw(
                    """
                    UPDATE inbox SET read_at = \(bind: now) WHERE tenant_id = \(bind: tenantID)
                    AND user_id = \(bind: userID) AND read_at IS NULL RETURNING id
                    """
                ).all().count)
        }
    }
}

/// New in-app notifications, handed to every watcher of their user as they are committed.
public final class InboxFeed: Sendable {
    private struct Watcher {
        var tenantID: String
        var userID: String
        var continuation: AsyncStream<InboxItem>.Continuation
    }

    private let watchers = Mutex<[UUID: Watcher]>([:])

    /// The user's new notifications until the stream is dropped; a slow watcher keeps the latest 100.
    func watch(tenantID: String, userID: String) -> AsyncStream<InboxItem> {
        let id = UUID()
        let (stream, continuation) = AsyncStream<InboxItem>.makeStream(bufferingPolicy: .bufferingNewest(100))
        watchers.withLock {
            $0[id] = Watcher(tenantID: tenantID, userID: userID, continuation: continuation)
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.watchers.withLock { $0.removeValue(forKey: id) }
        }
        return stream
    }

    func publish(_ items: [InboxItem]) {
        guard !items.isEmpty else { return }
        let current = watchers.withLock { Array($0.values) }
        for watcher in current {
            for item in items where item.tenantID == watcher.tenantID && item.userID == watcher.userID {
                watcher.continuation.yield(item)
            }
        }
    }

    /// How many watch now (a metric, and for tests).
    var count: Int { watchers.withLock { $0.count } }
}
