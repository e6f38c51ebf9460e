import BizAuth
import BizEvents
import BizOutbox
import BizServiceKit
import BizStorage
import Foundation
import SQLKit

/// The cost centers of each tenant. Every change writes the row and its event (the full state) in one transaction;
/// a delete keeps the row, hides it and emits `cost_center.deleted`.
public struct CostCenterDirectory: Sendable {
    public var outbox: Outbox
    public var events: EventFactory

    public init(outbox: Outbox, events: EventFactory) {
        self.outbox = outbox
        self.events = events
    }

    var store: any SQLStore { outbox.store }

    static let codeBytes = 32
    static let nameBytes = 200

    /// What a request sets; nil leaves a field as it is (on update) or takes its default (on create). A parent of
    /// `""` makes a root.
    public struct Input: Sendable {
        public var code: String?
        public var name: String?
        public var parentID: String?
        public var budgetCents: Int64?
        public var currency: String?

        public init(
            code: String? = nil, name: String? = nil, parentID: String? = nil, budgetCents: Int64? = nil,
            currency: String? = nil
        ) {
            self.code = code
            self.name = name
            self.parentID = parentID
            self.budgetCents = budgetCents
            self.currency = currency
        }
    }

    /// `subject` is the tenant's data subject (its contractor's `ownership_id`), which the events carry.
    public func create(_ input: Input, subject: String, caller: Caller) async throws -> CostCenterRecord {
        var new = CostCenterRecord(
            publicID: EventID.generate(), tenantID: caller.principal.tenantID, now: EventTimestamp.now().rfc3339)
        try Self.apply(input, to: &new, creating: true)
        let record = new
        do {
            return try await outbox.perform { database in
                try await Self.requireParent(of: record, on: database)
                let row = try await database.raw(
                    """
                    INSERT INTO cost_centers (public_id, tenant_id, code, name, parent_id, budget_cents, currency,
                    enabled, version, created_at, updated_at) VALUES (\(bind: record.publicID), \(bind: record.tenantID),
                    \(bind: record.code), \(bind: record.name), \(bind: record.parentID), \(bind: record.budgetCents),
                    \(bind: record.currency), TRUE, 1, \(bind: record.createdAt), \(bind: record.updatedAt))
                    RETURNING \(unsafeRaw: CostCenterRecord.columns)
                    """
                ).first()
                let stored = try CostCenterRecord(row: row!)
                return (stored, [event(.created, stored, subject: subject, caller: caller)])
            }
        } catch let error as StorageError where error.code == .constraint {
            throw Self.codeTaken
        }
    }

    static let codeTaken = ServiceError.conflict(field: "code", problem: "is used by another cost center of the tenant")

    public func costCenter(_ publicID: String, tenantID: String) async throws -> CostCenterRecord {
        let record = try await store.read { database in
            try await Self.load(publicID, tenant: tenantID, on: database)
        }
        guard let record else { throw ServiceError.notFound("cost center") }
        return record
    }

    public func costCenters(tenantID: String, parentID: String?, code: String?, after: Int64?, limit: Int)
        async throws -> [CostCenterRecord]
    {
        try await store.read { database in
            var filters: [SQLQueryString] = [
                "tenant_id = \(bind: tenantID)", "deleted_at IS NULL", "id > \(bind: after ?? 0)",
            ]
            if let parentID { filters.append("parent_id = \(bind: parentID)") }
            if let code { filters.append("code = \(bind: code)") }
            let query: SQLQueryString =
                "SELECT \(unsafeRaw: CostCenterRecord.columns) FROM cost_centers WHERE "
                + filters.joined(separator: " AND ") + " ORDER BY id LIMIT \(bind: limit)"
            return try await database.raw(query).all().map(CostCenterRecord.init(row:))
        }
    }

    /// A cost center and its descendants, each with its children in creation order.
    public struct Tree: Sendable, Hashable {
        public var node: CostCenterRecord
        public var children: [Tree]
    }

    public func tree(_ publicID: String, tenantID: String) async throws -> Tree {
        let all = try await store.read { database in
            try await database.raw(
                """
                SELECT \(unsafeRaw: CostCenterRecord.columns) FROM cost_centers
                WHERE tenant_id = \(bind: tenantID) AND deleted_at IS NULL ORDER BY id
                """
            ).all().map(CostCenterRecord.init(row:))
        }
        guard let root = all.first(where: { $0.publicID == publicID }) else {
            throw ServiceError.notFound("cost center")
        }
        let children = Dictionary(grouping: all.filter { $0.parentID != nil }, by: { $0.parentID! })
        func build(_ node: CostCenterRecord) -> Tree {
            Tree(node: node, children: (children[node.publicID] ?? []).map(build))
        }
        return build(root)
    }

    public enum Change: Sendable {
        case update(Input)
        case enable(Bool)
        case delete
    }

    @discardableResult
    public func change(
        _ publicID: String, _ change: Change, expectedVersion: Int64? = nil, subject: String, caller: Caller
    ) async throws -> CostCenterRecord {
        let tenant = caller.principal.tenantID
        let now = EventTimestamp.now().rfc3339
        do {
            return try await outbox.perform { database in
                guard var record = try await Self.load(publicID, tenant: tenant, on: database) else {
                    throw ServiceError.notFound("cost center")
                }
                if let expectedVersion, expectedVersion != record.version {
                    throw ServiceError.versionMismatch(current: record.version)
                }
                let verb: EventVerb
                switch change {
                case .update(let input):
                    let parentBefore = record.parentID
                    try Self.apply(input, to: &record, creating: false)
                    if record.parentID != parentBefore { try await Self.requireParent(of: record, on: database) }
                    verb = .updated
                case .enable(let enabled):
                    record.enabled = enabled
                    verb = enabled ? .enabled : .disabled
                case .delete:
                    let child = try await database.raw(
                        """
                        SELECT id FROM cost_centers WHERE tenant_id = \(bind: tenant) AND deleted_at IS NULL
                        AND parent_id = \(bind: record.publicID) LIMIT 1
                        """
                    ).first()
                    guard child == nil else {
                        throw ServiceError.conflict(
                            field: "public_id", problem: "has cost centers under it: delete or move them first")
                    }
                    verb = .deleted
                }
                record.version += 1
                record.updatedAt = now
                try await database.raw(
                    """
                    UPDATE cost_centers SET code = \(bind: record.code), name = \(bind: record.name),
                    parent_id = \(bind: record.parentID), budget_cents = \(bind: record.budgetCents),
                    currency = \(bind: record.currency), enabled = \(bind: record.enabled),
                    version = \(bind: record.version), updated_at = \(bind: now),
                    deleted_at = \(bind: verb == .deleted ? now : nil) WHERE id = \(bind: record.id)
                    """
                ).run()
                return (record, [event(verb, record, subject: subject, caller: caller)])
            }
        } catch let error as StorageError where error.code == .constraint {
            throw Self.codeTaken
        }
    }

    func event(_ verb: EventVerb, _ record: CostCenterRecord, subject: String, caller: Caller) -> EventEnvelope {
        events.event(.costCenter(verb), payload: record.payload, ownershipID: subject, caller: caller)
    }

    static func load(_ publicID: String, tenant: String, on database: any SQLDatabase) async throws
        -> CostCenterRecord?
    {
        try await database.raw(
            """
            SELECT \(unsafeRaw: CostCenterRecord.columns) FROM cost_centers
            WHERE public_id = \(bind: publicID) AND tenant_id = \(bind: tenant) AND deleted_at IS NULL
            """
        ).first().map(CostCenterRecord.init(row:))
    }

    /// The parent must be a cost center of the same tenant (another tenant's answers as one that does not exist),
    /// and not the record itself or one of its descendants (a cycle).
    static func requireParent(of record: CostCenterRecord, on database: any SQLDatabase) async throws {
        var current = record.parentID
        var steps = 0
        while let id = current {
            guard id != record.publicID else {
                throw ServiceError.unprocessable(field: "parent_id", problem: "would make the hierarchy a cycle")
            }
            guard let parent = try await load(id, tenant: record.tenantID, on: database) else {
                throw ServiceError.unprocessable(
                    field: "parent_id", problem: "names a cost center that does not exist")
            }
            current = parent.parentID
            steps += 1
            guard steps <= 1_000 else {
                throw ServiceError.unprocessable(field: "parent_id", problem: "is over 1000 levels deep")
            }
        }
    }

    static func apply(_ input: Input, to record: inout CostCenterRecord, creating: Bool) throws {
        if creating || input.code != nil {
            let code = input.code ?? ""
            guard !code.isEmpty else { throw ServiceError.invalidArgument(field: "code", problem: "is required") }
            guard code.utf8.count <= codeBytes,
                code.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-/".contains($0)) })
            else {
                throw ServiceError.invalidArgument(
                    field: "code", problem: "may hold only letters, digits and '.', '_', '-', '/'")
            }
            record.code = code
        }
        if creating || input.name != nil {
            record.name = try TextInput.required(input.name ?? "", field: "name", limit: nameBytes)
        }
        if let parent = input.parentID {
            let parent = parent.trimmingCharacters(in: .whitespaces).lowercased()
            guard parent.isEmpty || EventID.isUUID(parent) else {
                throw ServiceError.unprocessable(field: "parent_id", problem: "names no cost center of the tenant")
            }
            record.parentID = parent.isEmpty ? nil : parent
        }
        if let cents = input.budgetCents {
            guard cents >= 0 else {
                throw ServiceError.invalidArgument(field: "budget.amount_cents", problem: "must not be negative")
            }
            record.budgetCents = cents
        }
        if let currency = input.currency {
            let code = currency.isEmpty ? "BRL" : currency.uppercased()
            guard Currencies.codes.contains(code) else {
                throw ServiceError.unprocessable(field: "budget.currency", problem: "is not an ISO 4217 currency")
            }
            record.currency = code
        }
    }
}

extension EventType {
    /// `cost_center.<verb>`.
    static func costCenter(_ verb: EventVerb) -> EventType { EventType(entity: "cost_center", verb: verb) }
}

/// The event types the Cost Center service emits.
public enum CostCenterEvents {
    public static let produced: [EventType] = [EventVerb.created, .updated, .disabled, .enabled, .deleted].map {
        EventType.costCenter($0)
    }
}
