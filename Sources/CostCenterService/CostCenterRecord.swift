import BizEvents
import BizOutbox
import BizStorage
import SQLKit

/// A cost center, as stored and as its events carry it.
public struct CostCenterRecord: Sendable, Hashable {
    public var id: Int64
    public var publicID: String
    public var tenantID: String
    public var code: String
    public var name: String
    /// nil: a root.
    public var parentID: String?
    public var budgetCents: Int64
    public var currency: String
    public var enabled: Bool
    public var version: Int64
    public var createdAt: String
    public var updatedAt: String

    var payload: [String: JSONValue] {
        [
            "id": .integer(id), "public_id": .string(publicID), "tenant_id": .string(tenantID), "code": .string(code),
            "name": .string(name), "parent_id": parentID.map(JSONValue.string) ?? .null,
            "budget": ["amount_cents": .integer(budgetCents), "currency": .string(currency)],
            "enabled": .bool(enabled), "status": .string(enabled ? "active" : "disabled"),
            "version": .integer(version), "created_at": .string(createdAt), "updated_at": .string(updatedAt),
        ]
    }

    static let columns =
        "id, public_id, tenant_id, code, name, parent_id, budget_cents, currency, enabled, version, created_at, "
        + "updated_at"

    init(publicID: String, tenantID: String, now: String) {
        id = 0
        self.publicID = publicID
        self.tenantID = tenantID
        code = ""
        name = ""
        parentID = nil
        budgetCents = 0
        currency = "BRL"
        enabled = true
        version = 1
        createdAt = now
        updatedAt = now
    }

    init(row: any SQLRow) throws {
        self.init(
            publicID: try row.decode(column: "public_id", as: String.self),
            tenantID: try row.decode(column: "tenant_id", as: String.self),
            now: try row.decode(column: "created_at", as: String.self))
        id = try row.decode(column: "id", as: Int64.self)
        code = try row.decode(column: "code", as: String.self)
        name = try row.decode(column: "name", as: String.self)
        parentID = try row.decode(column: "parent_id", as: String?.self)
        budgetCents = try row.decode(column: "budget_cents", as: Int64.self)
        currency = try row.decode(column: "currency", as: String.self)
        enabled = try row.decode(column: "enabled", as: Bool.self)
        version = try row.decode(column: "version", as: Int64.self)
        updatedAt = try row.decode(column: "updated_at", as: String.self)
    }
}

public enum CostCenterSchema {
    public static let migrations: [Migration] =
        Outbox.migrations + [
            Migration(id: "cost_center.1.create") { flavor in
                [
                    """
                    CREATE TABLE cost_centers (
                        id \(flavor.autoIncrementPrimaryKey),
                        public_id TEXT NOT NULL UNIQUE,
                        tenant_id TEXT NOT NULL,
                        code TEXT NOT NULL,
                        name TEXT NOT NULL,
                        parent_id TEXT,
                        budget_cents BIGINT NOT NULL,
                        currency TEXT NOT NULL,
                        enabled BOOLEAN NOT NULL,
                        version BIGINT NOT NULL,
                        created_at TEXT NOT NULL,
                        updated_at TEXT NOT NULL,
                        deleted_at TEXT)
                    """,
                    "CREATE INDEX cost_centers_tenant ON cost_centers (tenant_id, id)",
                    "CREATE INDEX cost_centers_parent ON cost_centers (tenant_id, parent_id)",
                    """
                    CREATE UNIQUE INDEX cost_centers_code ON cost_centers (tenant_id, code) WHERE deleted_at IS NULL
                    """,
                ]
            }
        ]
}

/// The active ISO 4217 currency codes.
enum Currencies {
    static let codes: Set<String> = [
        "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN", "BHD", "BIF",
        "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF", "CLP", "CNY", "COP", "CRC",
        "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS",
        "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD",
        "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL",
        "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MYR", "MZN", "NAD",
        "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD",
        "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP",
        "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS", "VES",
        "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG",
    ]
}
