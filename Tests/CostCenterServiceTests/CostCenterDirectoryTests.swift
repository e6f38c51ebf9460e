import BizAuth
import BizEvents
import BizServiceKit
import BizStorage
import BizTesting
import Testing

@testable import BizOutbox
@testable import CostCenterService

/// The Cost Center service's domain over a temporary SQLite database.
@Suite("Cost center directory")
struct CostCenterDirectoryTests {
    static func manager(of tenant: String) -> Caller {
        Caller(
            principal: Principal(
                subject: "user-1", tenantID: tenant, roles: ["manager"], scopes: [], ownerType: "user", tokenID: "t1"),
            clientIP: "203.0.113.7", traceID: "4bf92f3577b34da6a3ce929d0e0e4736")
    }
    static let north = manager(of: EventID.generate())
    static let south = manager(of: EventID.generate())
    /// The tenant's data subject (its contractor's `ownership_id`).
    static let subject = EventID.generate()

    func withDirectory<T>(_ body: (CostCenterDirectory) async throws -> T) async throws -> T {
        try await TestDatabases.withStore(.sqlite, migrations: CostCenterModule.migrations) { store in
            try await body(
                CostCenterDirectory(
                    outbox: Outbox(store: store),
                    events: EventFactory(
                        producerService: "cost_center_service", producerServiceID: EventID.generate(),
                        environment: "test", serviceOwnerID: ServiceAccount.publicID(of: "cost-center"))))
        }
    }

    func create(_ directory: CostCenterDirectory, _ code: String, parent: String? = nil, caller: Caller = north)
        async throws -> CostCenterRecord
    {
        try await directory.create(
            .init(code: code, name: "Centro \(code)", parentID: parent), subject: Self.subject, caller: caller)
    }

    @Test("a hierarchy: codes unique per tenant, no cycles, no parent from another tenant, a subtree nested")
    func hierarchy() async throws {
        try await withDirectory { directory in
            let root = try await create(directory, "OPS")
            let child = try await create(directory, "OPS-1", parent: root.publicID)
            let leaf = try await create(directory, "OPS-1-A", parent: child.publicID)
            #expect(root.currency == "BRL" && root.budgetCents == 0)
            await #expect(
                throws: ServiceError.conflict(field: "code", problem: "is used by another cost center of the tenant")
            ) {
                try await create(directory, "OPS")
            }
            _ = try await create(directory, "OPS", caller: Self.south)
            await #expect(
                throws: ServiceError.unprocessable(
                    field: "parent_id", problem: "names a cost center that does not exist")
            ) {
                try await create(directory, "S-1", parent: root.publicID, caller: Self.south)
            }
            await #expect(
                throws: ServiceError.unprocessable(field: "parent_id", problem: "would make the hierarchy a cycle")
            ) {
                try await directory.change(
                    root.publicID, .update(.init(parentID: leaf.publicID)), subject: Self.subject, caller: Self.north)
            }
            let tree = try await directory.tree(root.publicID, tenantID: Self.north.principal.tenantID)
            #expect(tree.children.map(\.node.code) == ["OPS-1"])
            #expect(tree.children.first?.children.map(\.node.code) == ["OPS-1-A"])
            await #expect(throws: ServiceError.notFound("cost center")) {
                try await directory.tree(root.publicID, tenantID: Self.south.principal.tenantID)
            }
            await #expect(throws: ServiceError.self) {
                try await directory.change(child.publicID, .delete, subject: Self.subject, caller: Self.north)
            }
            let events = try await directory.outbox.pending(limit: 100).map {
                try EventEnvelope.decode($0.message.body)
            }
            #expect(events.map(\.eventType.description) == Array(repeating: "cost_center.created", count: 4))
            #expect(events.allSatisfy { $0.metadata.ownershipID == Self.subject })
        }
    }

    @Test("budgets: whole cents, not negative, an ISO 4217 currency")
    func budgets() async throws {
        try await withDirectory { directory in
            let center = try await directory.create(
                .init(code: "B", name: "Budget", budgetCents: 12_345, currency: "eur"), subject: Self.subject,
                caller: Self.north
            )
            #expect(center.currency == "EUR" && center.budgetCents == 12_345)
            await #expect(
                throws: ServiceError.invalidArgument(field: "budget.amount_cents", problem: "must not be negative")
            ) {
                try await directory.create(
                    .init(code: "N", name: "N", budgetCents: -1), subject: Self.subject, caller: Self.north)
            }
            await #expect(
                throws: ServiceError.unprocessable(field: "budget.currency", problem: "is not an ISO 4217 currency")
            ) {
                try await directory.create(
                    .init(code: "C", name: "C", currency: "XYZ"), subject: Self.subject, caller: Self.north)
            }
            await #expect(throws: ServiceError.self) {
                try await directory.create(.init(code: "a b", name: "C"), subject: Self.subject, caller: Self.north)
            }
        }
    }
}
