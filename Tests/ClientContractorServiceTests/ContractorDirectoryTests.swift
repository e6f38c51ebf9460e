import BizAuth
import BizEvents
import BizServiceKit
import BizStorage
import BizTesting
import Crypto
import Testing

@testable import BizOutbox
@testable import ClientContractorService

@Suite("CNPJ and CPF")
struct DocumentTests {
    @Test("the alphanumeric CNPJ of the 2026 rule, and the all-digit ones, validate by their check digits")
    func cnpj() {
        #expect(CNPJ.normalize("12.ABC.345/01DE-35") == "12ABC34501DE35")
        #expect(CNPJ.normalize("12.abc.345/01de-35") == "12ABC34501DE35")
        #expect(CNPJ.normalize("11.222.333/0001-81") == "11222333000181")
        #expect(CNPJ.normalize("12.ABC.345/01DE-36") == nil)
        #expect(CNPJ.normalize("11.222.333/0001-82") == nil)
        #expect(CNPJ.normalize("00.000.000/0000-00") == nil)
        #expect(CNPJ.normalize("12.ABC.345/01DE-3A") == nil)
        #expect(CNPJ.normalize("12ABC34501DE3") == nil)
        #expect(CNPJ.formatted("12ABC34501DE35") == "12.ABC.345/01DE-35")
        #expect(CPF.formatted("52998224725") == "529.982.247-25")
    }

    @Test("a document is a CNPJ or a CPF; wrong check digits are 422, a wrong shape 400")
    func document() throws {
        #expect(try ContractorInput.document("12.ABC.345/01DE-35") == ("cnpj", "12ABC34501DE35"))
        #expect(try ContractorInput.document("529.982.247-25") == ("cpf", "52998224725"))
        #expect(throws: ServiceError.unprocessable(field: "document", problem: "is not a valid CNPJ")) {
            try ContractorInput.document("11.222.333/0001-82")
        }
        #expect(throws: ServiceError.unprocessable(field: "document", problem: "is not a valid CPF")) {
            try ContractorInput.document("529.982.247-26")
        }
        #expect(throws: ServiceError.self) { try ContractorInput.document("12345") }
    }

    @Test("phones, addresses and dates are checked and normalised")
    func fields() throws {
        #expect(try ContractorInput.phone("+55 (11) 98765-4321") == "+5511987654321")
        #expect(throws: ServiceError.self) { try ContractorInput.phone("call me") }
        var address = ContractorRecord.Address()
        address.state = "sp"
        address.postalCode = "01310-100"
        let checked = try ContractorInput.address(address)
        #expect(checked.state == "SP" && checked.postalCode == "01310100" && checked.country == "BR")
        address.state = "XX"
        #expect(throws: ServiceError.self) { try ContractorInput.address(address) }
        #expect(ContractorInput.day("2028-02-29") != nil)
        #expect(ContractorInput.day("2027-02-29") == nil)
        #expect(ContractorInput.day("2026-13-01") == nil)
    }
}

/// The Client Contractor service's domain over a temporary SQLite database.
@Suite("Contractor directory")
struct ContractorDirectoryTests {
    static let operatorCaller = Caller(
        principal: Principal(
            subject: "op-1", tenantID: "platform", roles: ["admin"], scopes: [], ownerType: "user", tokenID: "t1"),
        clientIP: "203.0.113.7", traceID: "4bf92f3577b34da6a3ce929d0e0e4736")

    func withDirectory<T>(_ body: (ContractorDirectory) async throws -> T) async throws -> T {
        try await TestDatabases.withStore(.sqlite, migrations: ContractorModule.migrations) { store in
            try await body(
                ContractorDirectory(
                    outbox: Outbox(store: store),
                    events: EventFactory(
                        producerService: "client_contractor_service", producerServiceID: EventID.generate(),
                        environment: "test", serviceOwnerID: ServiceAccount.publicID(of: "contractor")),
                    subjects: SubjectIDs(key: SymmetricKey(size: .bits256))))
        }
    }

    static func input(document: String = "12.ABC.345/01DE-35") -> ContractorDirectory.Input {
        var input = ContractorDirectory.Input()
        input.legalName = "Mercado Exemplo Ltda"
        input.document = document
        input.contactEmail = "Contato@Exemplo.com.br"
        input.contract.plan = "pro"
        input.contract.startDate = "2026-01-01"
        return input
    }

    func events(_ directory: ContractorDirectory) async throws -> [EventEnvelope] {
        try await directory.outbox.pending(limit: 100).map { try EventEnvelope.decode($0.message.body) }
    }

    @Test("a contractor is created with its event carrying the full state; its document is unique")
    func create() async throws {
        try await withDirectory { directory in
            let record = try await directory.create(
                try directory.validatedNew(Self.input()), caller: Self.operatorCaller)
            #expect(record.tradeName == "Mercado Exemplo Ltda")
            #expect(record.contactEmail == "contato@exemplo.com.br")
            #expect(record.isActive(on: "2026-12-01"))
            #expect(!record.isActive(on: "2025-12-31"))
            let event = try #require(try await events(directory).first)
            #expect(event.eventType.description == "client_contractor.created")
            #expect(event.payload["tenant_id"] == .string(record.publicID))
            #expect(event.payload["document"] == .string("12ABC34501DE35"))
            #expect(event.metadata.ownershipID == directory.subjects.company(cnpj: "12ABC34501DE35"))

            let again = try directory.validatedNew(Self.input(document: "12ABC34501DE35"))
            await #expect(
                throws: ServiceError.conflict(field: "document", problem: "belongs to another client contractor")
            ) {
                try await directory.requireUniqueDocument(of: again)
            }
            await #expect(throws: ServiceError.self) { try await directory.create(again, caller: Self.operatorCaller) }
        }
    }

    @Test("updates merge, check the version, and a suspended or disabled contractor's tenant is not active")
    func update() async throws {
        try await withDirectory { directory in
            let record = try await directory.create(
                try directory.validatedNew(Self.input()), caller: Self.operatorCaller)
            var patch = ContractorDirectory.Input()
            patch.contract.status = "suspended"
            patch.address = [\.city: "São Paulo"]
            await #expect(throws: ServiceError.versionMismatch(current: 1)) {
                try await directory.change(
                    record.publicID, .update(patch), expectedVersion: 3, caller: Self.operatorCaller)
            }
            let updated = try await directory.change(
                record.publicID, .update(patch), expectedVersion: 1, caller: Self.operatorCaller)
            #expect(updated.contract.status == "suspended" && updated.address.city == "São Paulo")
            #expect(updated.contract.plan == "pro" && updated.version == 2)
            #expect(!updated.isActive(on: "2026-12-01"))

            var bad = ContractorDirectory.Input()
            bad.contract.endDate = "2025-01-01"
            await #expect(
                throws: ServiceError.unprocessable(field: "contract.ends_on", problem: "is before contract.starts_on")
            ) { try await directory.change(record.publicID, .update(bad), caller: Self.operatorCaller) }

            try await directory.change(record.publicID, .delete, caller: Self.operatorCaller)
            #expect(try await directory.tenant(record.publicID) == nil)
            let verbs = try await events(directory).map(\.eventType.description)
            #expect(verbs == ["client_contractor.created", "client_contractor.updated", "client_contractor.deleted"])
            // A deleted contractor's document may be used again.
            _ = try await directory.create(try directory.validatedNew(Self.input()), caller: Self.operatorCaller)
        }
    }

    @Test("lists filter by status and by document in any punctuation")
    func list() async throws {
        try await withDirectory { directory in
            let first = try await directory.create(
                try directory.validatedNew(Self.input()), caller: Self.operatorCaller)
            var other = Self.input(document: "529.982.247-25")
            other.contract.status = "terminated"
            _ = try await directory.create(try directory.validatedNew(other), caller: Self.operatorCaller)
            #expect(try await directory.contractors(status: nil, document: nil, after: nil, limit: 10).count == 2)
            let active = try await directory.contractors(status: "active", document: nil, after: nil, limit: 10)
            #expect(active.map(\.publicID) == [first.publicID])
            let byDocument = try await directory.contractors(
                status: nil, document: "52998224725", after: nil, limit: 10)
            #expect(byDocument.map(\.documentType) == ["cpf"])
            await #expect(throws: ServiceError.self) {
                try await directory.contractors(status: "gone", document: nil, after: nil, limit: 10)
            }
        }
    }
}
