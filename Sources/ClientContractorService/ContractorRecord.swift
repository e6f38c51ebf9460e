import BizAuth
import BizEvents
import BizOutbox
import BizStorage
import SQLKit

/// A client contractor (a tenant), as stored and as its events carry it.
public struct ContractorRecord: Sendable, Hashable {
    public var id: Int64
    /// The tenant id.
    public var publicID: String
    public var legalName: String
    public var tradeName: String
    /// `cnpj` or `cpf`.
    public var documentType: String
    /// Normalised (no punctuation; a CNPJ's letters upper-case).
    public var document: String
    public var contactEmail: String
    public var contactPhone: String
    public var address: Address
    public var contract: Contract
    public var enabled: Bool
    public var version: Int64
    /// The data subject: the company (CNPJ) or the person (CPF), the same id every service derives.
    public var ownershipID: String
    public var createdAt: String
    public var updatedAt: String

    public struct Address: Sendable, Hashable {
        public var street = ""
        public var number = ""
        public var complement = ""
        public var district = ""
        public var city = ""
        public var state = ""
        public var postalCode = ""
        public var country = "BR"

        public init() {}

        public typealias Field = any WritableKeyPath<Address, String> & Sendable

        /// Every field with its name in the API (and its column, `address_<name>`).
        static let fields: [(Field, String)] = [
            (\.street, "street"), (\.number, "number"), (\.complement, "complement"), (\.district, "district"),
            (\.city, "city"), (\.state, "state"), (\.postalCode, "postal_code"), (\.country, "country"),
        ]
    }

    public struct Contract: Sendable, Hashable {
        public var plan = ""
        public var startDate = ""
        /// Empty: open-ended.
        public var endDate = ""
        public var status = "active"

        public init() {}

        public static let statuses: Set<String> = ["active", "suspended", "terminated"]
    }

    /// The document as people write it (`12.ABC.345/01DE-35`, `529.982.247-25`).
    public var formattedDocument: String {
        documentType == "cnpj" ? CNPJ.formatted(document) : CPF.formatted(document)
    }

    /// Whether the tenant may work on `day` (`YYYY-MM-DD`): enabled, its contract active and within its dates.
    public func isActive(on day: String) -> Bool {
        guard enabled, contract.status == "active", contract.startDate <= day else { return false }
        return contract.endDate.isEmpty || day <= contract.endDate
    }

    var payload: [String: JSONValue] {
        var address: [String: JSONValue] = [:]
        for (keyPath, name) in Address.fields { address[name] = .string(self.address[keyPath: keyPath]) }
        return [
            "id": .integer(id), "public_id": .string(publicID), "tenant_id": .string(publicID),
            "legal_name": .string(legalName), "trade_name": .string(tradeName),
            "document_type": .string(documentType), "document": .string(document),
            "contact_email": .string(contactEmail), "contact_phone": .string(contactPhone),
            "address": .object(address),
            "contract": [
                "plan": .string(contract.plan), "starts_on": .string(contract.startDate),
                "ends_on": contract.endDate.isEmpty ? .null : .string(contract.endDate),
                "status": .string(contract.status),
            ],
            "enabled": .bool(enabled), "version": .integer(version), "created_at": .string(createdAt),
            "updated_at": .string(updatedAt),
        ]
    }

    /// The stored columns but `id`, in the order of ``values``.
    static let storedColumns: [String] =
        ["public_id", "legal_name", "trade_name", "document_type", "document", "contact_email", "contact_phone"]
        + Address.fields.map { "address_\($0.1)" }
        + ["contract_plan", "contract_start_date", "contract_end_date", "contract_status"]
        + ["enabled", "version", "ownership_id", "created_at", "updated_at"]

    static let columns = (["id"] + storedColumns).joined(separator: ", ")

    init(publicID: String, now: String) {
        id = 0
        self.publicID = publicID
        legalName = ""
        tradeName = ""
        documentType = ""
        document = ""
        contactEmail = ""
        contactPhone = ""
        address = Address()
        contract = Contract()
        enabled = true
        version = 1
        ownershipID = ""
        createdAt = now
        updatedAt = now
    }

    init(row: any SQLRow) throws {
        self.init(publicID: try row.decode(column: "public_id", as: String.self), now: "")
        id = try row.decode(column: "id", as: Int64.self)
        legalName = try row.decode(column: "legal_name", as: String.self)
        tradeName = try row.decode(column: "trade_name", as: String.self)
        documentType = try row.decode(column: "document_type", as: String.self)
        document = try row.decode(column: "document", as: String.self)
        contactEmail = try row.decode(column: "contact_email", as: String.self)
        contactPhone = try row.decode(column: "contact_phone", as: String.self)
        for (keyPath, name) in Address.fields {
            address[keyPath: keyPath] = try row.decode(column: "address_\(name)", as: String.self)
        }
        contract.plan = try row.decode(column: "contract_plan", as: String.self)
        contract.startDate = try row.decode(column: "contract_start_date", as: String.self)
        contract.endDate = try row.decode(column: "contract_end_date", as: String.self)
        contract.status = try row.decode(column: "contract_status", as: String.self)
        enabled = try row.decode(column: "enabled", as: Bool.self)
        version = try row.decode(column: "version", as: Int64.self)
        ownershipID = try row.decode(column: "ownership_id", as: String.self)
        createdAt = try row.decode(column: "created_at", as: String.self)
        updatedAt = try row.decode(column: "updated_at", as: String.self)
    }

    /// The values of ``storedColumns``, for an INSERT or an UPDATE.
    var values: [any Encodable & Sendable] {
        [publicID, legalName, tradeName, documentType, document, contactEmail, contactPhone]
            + Address.fields.map { address[keyPath: $0.0] }
            + [contract.plan, contract.startDate, contract.endDate, contract.status]
            + [enabled, version, ownershipID, createdAt, updatedAt] as [any Encodable & Sendable]
    }
}

public enum ContractorSchema {
    public static let migrations: [Migration] =
        Outbox.migrations + [
            Migration(id: "client_contractor.1.create") { flavor in
                [
                    """
                    CREATE TABLE client_contractors (
                        id \(flavor.autoIncrementPrimaryKey),
                        public_id TEXT NOT NULL UNIQUE,
                        legal_name TEXT NOT NULL,
                        trade_name TEXT NOT NULL,
                        document_type TEXT NOT NULL,
                        document TEXT NOT NULL,
                        contact_email TEXT NOT NULL,
                        contact_phone TEXT NOT NULL,
                        address_street TEXT NOT NULL,
                        address_number TEXT NOT NULL,
                        address_complement TEXT NOT NULL,
                        address_district TEXT NOT NULL,
                        address_city TEXT NOT NULL,
                        address_state TEXT NOT NULL,
                        address_postal_code TEXT NOT NULL,
                        address_country TEXT NOT NULL,
                        contract_plan TEXT NOT NULL,
                        contract_start_date TEXT NOT NULL,
                        contract_end_date TEXT NOT NULL,
                        contract_status TEXT NOT NULL,
                        enabled BOOLEAN NOT NULL,
                        version BIGINT NOT NULL,
                        ownership_id TEXT NOT NULL,
                        created_at TEXT NOT NULL,
                        updated_at TEXT NOT NULL,
                        deleted_at TEXT)
                    """,
                    """
                    CREATE UNIQUE INDEX client_contractors_document ON client_contractors (document)
                    WHERE deleted_at IS NULL
                    """,
                    "CREATE INDEX client_contractors_status ON client_contractors (contract_status, id)",
                ]
            }
        ]
}
