import BizAuth
import BizServiceKit
import Foundation

/// The checks and normal forms of a contractor's fields. Malformed input is a 400 naming the field; a well-formed
/// value the domain refuses (wrong check digits, an end date before the start) is a 422.
enum ContractorInput {
    static let nameBytes = 200
    static let addressFieldBytes = 200
    static let planBytes = 100

    /// A CNPJ (14 characters, alphanumeric since 2026) or a CPF (11 digits), any punctuation.
    static func document(_ text: String, field: String = "document") throws(ServiceError) -> (
        type: String, value: String
    ) {
        let bare = text.filter { !".-/ ".contains($0) }
        guard !bare.isEmpty else { throw .invalidArgument(field: field, problem: "is required") }
        if let cnpj = CNPJ.normalize(text) { return ("cnpj", cnpj) }
        if let cpf = CPF.normalize(text) { return ("cpf", cpf) }
        switch bare.count {
        case 14: throw .unprocessable(field: field, problem: "is not a valid CNPJ")
        case 11: throw .unprocessable(field: field, problem: "is not a valid CPF")
        default:
            throw .invalidArgument(field: field, problem: "must be a CNPJ (14 characters) or a CPF (11 digits)")
        }
    }

    static func email(_ text: String, field: String = "contact_email") throws(ServiceError) -> String {
        guard !text.isEmpty else {
            throw .invalidArgument(field: field, problem: "is required")
        }
        guard let email = EmailAddress.normalize(text) else {
            throw .invalidArgument(field: field, problem: "is not an email address")
        }
        return email
    }

    /// `+55 (11) 98765-4321` → `+5511987654321`: 10 to 15 digits, an optional leading `+`, separators (space, `-`,
    /// `(`, `)`, `.`) dropped (the OpenAPI document's ``phonePattern``). Empty stays empty (no phone).
    static func phone(_ text: String) throws(ServiceError) -> String {
        guard !text.isEmpty else { return "" }
        var digits = ""
        for (index, character) in text.enumerated() {
            if character.isASCII, character.isNumber {
                digits.append(character)
            } else if character == "+", index == 0 {
                continue
            } else if !" -().".contains(character) {
                throw .invalidArgument(
                    field: "contact_phone", problem: "may hold only digits, '+', spaces, '-', '(' and ')'")
            }
        }
        guard (10...15).contains(digits.count) else {
            throw .invalidArgument(field: "contact_phone", problem: "must have 10 to 15 digits")
        }
        return text.hasPrefix("+") ? "+" + digits : digits
    }

    static let federativeUnits: Set<String> = [
        "AC", "AL", "AP", "AM", "BA", "CE", "DF", "ES", "GO", "MA", "MT", "MS", "MG", "PA", "PB", "PR", "PE", "PI",
        "RJ", "RN", "RS", "RO", "RR", "SC", "SP", "SE", "TO",
    ]

    static func address(_ address: ContractorRecord.Address) throws(ServiceError) -> ContractorRecord.Address {
        var checked = address
        for (keyPath, name) in ContractorRecord.Address.fields {
            let text = try TextInput.checked(
                address[keyPath: keyPath], field: "address.\(name)", limit: addressFieldBytes)
            // The country is a code as given; every other field is kept trimmed.
            checked[keyPath: keyPath] = name == "country" ? text : TextInput.trimmed(text)
        }
        checked.country = checked.country.isEmpty ? "BR" : checked.country.uppercased()
        guard checked.country.count == 2, checked.country.allSatisfy({ $0.isASCII && $0.isLetter }) else {
            throw .invalidArgument(field: "address.country", problem: "must be an ISO 3166-1 alpha-2 code")
        }
        guard checked.country == "BR" else { return checked }
        if !checked.state.isEmpty {
            checked.state = checked.state.uppercased()
            guard federativeUnits.contains(checked.state) else {
                throw .unprocessable(field: "address.state", problem: "is not a Brazilian federative unit (SP, RJ …)")
            }
        }
        if !checked.postalCode.isEmpty {
            let digits = checked.postalCode.filter { $0 != "-" && $0 != "." && $0 != " " }
            guard digits.count == 8, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                throw .unprocessable(field: "address.postal_code", problem: "must be a CEP of 8 digits in Brazil")
            }
            checked.postalCode = digits
        }
        return checked
    }

    static func contract(_ contract: ContractorRecord.Contract) throws(ServiceError) -> ContractorRecord.Contract {
        var checked = contract
        checked.plan = try TextInput.required(contract.plan, field: "contract.plan", limit: planBytes)
        guard let start = day(contract.startDate) else {
            throw .invalidArgument(field: "contract.starts_on", problem: "must be a date (YYYY-MM-DD)")
        }
        if !contract.endDate.isEmpty {
            guard let end = day(contract.endDate) else {
                throw .invalidArgument(field: "contract.ends_on", problem: "must be a date (YYYY-MM-DD) or empty")
            }
            guard end >= start else {
                throw .unprocessable(field: "contract.ends_on", problem: "is before contract.starts_on")
            }
        }
        guard ContractorRecord.Contract.statuses.contains(contract.status) else {
            throw .invalidArgument(
                field: "contract.status",
                problem: "must be one of \(ContractorRecord.Contract.statuses.sorted().joined(separator: ", "))")
        }
        return checked
    }

    /// `YYYY-MM-DD` as a comparable day, or nil when it is not a real date.
    static func day(_ text: String) -> Int? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
            (1...12).contains(month), day >= 1
        else { return nil }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let lengths = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard day <= lengths[month - 1] else { return nil }
        return year * 10_000 + month * 100 + day
    }

    /// Today (UTC) as `YYYY-MM-DD`.
    static func today(_ now: Date = Date()) -> String {
        let components = Calendar(identifier: .gregorian).dateComponents(
            in: TimeZone(identifier: "UTC")!, from: now)
        return String(format: "%04d-%02d-%02d", components.year!, components.month!, components.day!)
    }
}
