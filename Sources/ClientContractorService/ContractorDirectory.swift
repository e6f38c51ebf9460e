import BizAuth
import BizEvents
import BizOutbox
import BizServiceKit
import BizStorage
import Foundation
import SQLKit

/// The client contractors. Every change writes the row and its event (the contractor's full state) in one
/// transaction; a delete keeps the row, hides it from reads (the tenant is then gone) and emits `*.deleted`.
public struct ContractorDirectory: Sendable {
    public var outbox: Outbox
    public var events: EventFactory
    public var subjects: SubjectIDs

    public init(outbox: Outbox, events: EventFactory, subjects: SubjectIDs) {
        self.outbox = outbox
        self.events = events
        self.subjects = subjects
    }

    var store: any SQLStore { outbox.store }

    /// What a request sets; nil leaves a field as it is (on update) or takes its default (on create).
    public struct Input: Sendable {
        public var legalName: String?
        public var tradeName: String?
        public var document: String?
        public var contactEmail: String?
        public var contactPhone: String?
        public var address: [ContractorRecord.Address.Field: String] = [:]
        public var contract: Contract = Contract()

        public struct Contract: Sendable {
            public var plan: String?
            public var startDate: String?
            public var endDate: String?
            public var status: String?

            public init() {}
        }

        public init() {}
    }

    /// A new contractor from `input`, checked; it is not stored. `publicID` is the new tenant's id.
    public func validatedNew(_ input: Input, publicID: String = EventID.generate()) throws -> ContractorRecord {
        var record = ContractorRecord(publicID: publicID, now: EventTimestamp.now().rfc3339)
        record.contract.startDate = ContractorInput.today()
        try apply(input, to: &record, creating: true)
        return record
    }

    /// Fails with a conflict when a contractor (not deleted) already has `record`'s document.
    public func requireUniqueDocument(of record: ContractorRecord) async throws {
        let taken = try await store.read { database in
            try await database.raw(
                """
                SELECT id FROM client_contractors WHERE document = \(bind: record.document) AND deleted_at IS NULL
                AND public_id <> \(bind: record.publicID)
                """
            ).first()
        }
        if taken != nil { throw Self.documentTaken }
    }

    static let documentTaken = ServiceError.conflict(
        field: "document", problem: "belongs to another client contractor")

    /// Stores `record` (from ``validatedNew(_:publicID:)``) and emits `client_contractor.created`.
    public func create(_ record: ContractorRecord, caller: Caller) async throws -> ContractorRecord {
        do {
            return try await outbox.perform { database in
                let row = try await database.raw(
                    """
                    INSERT INTO client_contractors (\(unsafeRaw: ContractorRecord.storedColumns.joined(separator: ", ")))
                    VALUES (\(binds: record.values)) RETURNING \(unsafeRaw: ContractorRecord.columns)
                    """
                ).first()
                let stored = try ContractorRecord(row: row!)
                return (stored, [event(.created, stored, caller: caller)])
            }
        } catch let error as StorageError where error.code == .constraint {
            throw Self.documentTaken
        }
    }

    public func contractor(_ publicID: String) async throws -> ContractorRecord {
        let row = try await store.read { database in
            try await database.raw(
                """
                SELECT \(unsafeRaw: ContractorRecord.columns) FROM client_contractors
                WHERE public_id = \(bind: publicID) AND deleted_at IS NULL
                """
            ).first()
        }
        guard let row else { throw ServiceError.notFound("client contractor") }
        return try ContractorRecord(row: row)
    }

    /// A page in creation order, optionally only one contract status or one document.
    public func contractors(status: String?, document: String?, after: Int64?, limit: Int) async throws
        -> [ContractorRecord]
    {
        if let status, !ContractorRecord.Contract.statuses.contains(status) {
            throw ServiceError.invalidArgument(
                field: "status",
                problem: "must be one of \(ContractorRecord.Contract.statuses.sorted().joined(separator: ", "))")
        }
        let document = try document.map { try ContractorInput.document($0).value }
        return try await store.read { database in
            var filters: [SQLQueryString] = ["deleted_at IS NULL", "id > \(bind: after ?? 0)"]
            if let status { filters.append("contract_status = \(bind: status)") }
            if let document { filters.append("document = \(bind: document)") }
            let query: SQLQueryString =
                "SELECT \(unsafeRaw: ContractorRecord.columns) FROM client_contractors WHERE "
                + filters.joined(separator: " AND ") + " ORDER BY id LIMIT \(bind: limit)"
            return try await database.raw(query).all().map(ContractorRecord.init(row:))
        }
    }

    public enum Change: Sendable {
        case update(Input)
        case enable(Bool)
        case delete
    }

    @discardableResult
    public func change(_ publicID: String, _ change: Change, expectedVersion: Int64? = nil, caller: Caller)
        async throws -> ContractorRecord
    {
        let now = EventTimestamp.now().rfc3339
        do {
            return try await outbox.perform { database in
                guard
                    let row = try await database.raw(
                        """
                        SELECT \(unsafeRaw: ContractorRecord.columns) FROM client_contractors
                        WHERE public_id = \(bind: publicID) AND deleted_at IS NULL
                        """
                    ).first()
                else { throw ServiceError.notFound("client contractor") }
                var record = try ContractorRecord(row: row)
                if let expectedVersion, expectedVersion != record.version {
                    throw ServiceError.versionMismatch(current: record.version)
                }
                let verb: EventVerb
                switch change {
                case .update(let input):
                    try apply(input, to: &record, creating: false)
                    verb = .updated
                case .enable(let enabled):
                    record.enabled = enabled
                    verb = enabled ? .enabled : .disabled
                case .delete:
                    verb = .deleted
                }
                record.version += 1
                record.updatedAt = now
                let assignments: [SQLQueryString] = zip(ContractorRecord.storedColumns, record.values).map {
                    column, value in
                    "\(unsafeRaw: column) = \(bind: value)"
                }
                try await database.raw(
                    "UPDATE client_contractors SET " + assignments.joined(separator: ", ")
                        + ", deleted_at = \(bind: verb == .deleted ? now : nil) WHERE id = \(bind: record.id)"
                ).run()
                return (record, [event(verb, record, caller: caller)])
            }
        } catch let error as StorageError where error.code == .constraint {
            throw Self.documentTaken
        }
    }

    /// Whether the tenant `tenantID` exists (not deleted), and its record.
    public func tenant(_ tenantID: String) async throws -> ContractorRecord? {
        try await store.read { database in
            try await database.raw(
                """
                SELECT \(unsafeRaw: ContractorRecord.columns) FROM client_contractors
                WHERE public_id = \(bind: tenantID) AND deleted_at IS NULL
                """
            ).first().map(ContractorRecord.init(row:))
        }
    }

    func event(_ verb: EventVerb, _ record: ContractorRecord, caller: Caller) -> EventEnvelope {
        events.event(
            .clientContractor(verb), payload: record.payload, ownershipID: record.ownershipID, caller: caller)
    }

    /// `input` checked and applied to `record`; on create, what it leaves out takes its default (and the required
    /// fields must be there).
    func apply(_ input: Input, to record: inout ContractorRecord, creating: Bool) throws {
        if creating || input.legalName != nil {
            record.legalName = try TextInput.required(
                input.legalName ?? "", field: "legal_name", limit: ContractorInput.nameBytes)
        }
        if let tradeName = input.tradeName {
            record.tradeName = TextInput.trimmed(
                try TextInput.checked(tradeName, field: "trade_name", limit: ContractorInput.nameBytes))
        }
        if record.tradeName.isEmpty { record.tradeName = record.legalName }
        if creating || input.document != nil {
            let document = try ContractorInput.document(input.document ?? "")
            record.documentType = document.type
            record.document = document.value
            record.ownershipID =
                document.type == "cnpj"
                ? subjects.company(cnpj: document.value) : subjects.person(cpf: document.value)
        }
        if creating || input.contactEmail != nil {
            record.contactEmail = try ContractorInput.email(input.contactEmail ?? "")
        }
        if let phone = input.contactPhone { record.contactPhone = try ContractorInput.phone(phone) }
        for (keyPath, value) in input.address { record.address[keyPath: keyPath] = value }
        record.address = try ContractorInput.address(record.address)
        if let plan = input.contract.plan { record.contract.plan = plan }
        if let start = input.contract.startDate { record.contract.startDate = start }
        if let end = input.contract.endDate { record.contract.endDate = end }
        if let status = input.contract.status { record.contract.status = status }
        record.contract = try ContractorInput.contract(record.contract)
    }
}

extension EventType {
    /// `client_contractor.<verb>`.
    static func clientContractor(_ verb: EventVerb) -> EventType { EventType(entity: "client_contractor", verb: verb) }
}

/// The event types the Client Contractor service emits.
public enum ContractorEvents {
    public static let produced: [EventType] = [EventVerb.created, .updated, .disabled, .enabled, .deleted].map {
        EventType.clientContractor($0)
    }
}
