import BizEvents
import Crypto
import Foundation

/// The LGPD data subject's id (`ownership_id`) of a person or company: the same CPF or CNPJ always gets the same id,
/// in every service, and the id reveals nothing of the number (an HMAC under a key derived from the master key).
public struct SubjectIDs: Sendable {
    let key: SymmetricKey

    public init(key: SymmetricKey) { self.key = key }

    public init(masterKey: MasterKey) {
        self.init(
            key: HKDF<SHA256>.deriveKey(
                inputKeyMaterial: masterKey.key, info: Data("biz-retail ownership ids".utf8), outputByteCount: 32))
    }

    /// A natural person's id, from the 11 digits of the CPF.
    public func person(cpf: String) -> String { id(of: "person:cpf:\(cpf)") }

    /// A company's id, from the 14 normalised characters of the CNPJ.
    public func company(cnpj: String) -> String { id(of: "company:cnpj:\(cnpj)") }

    /// A feature flag's `ownership_id`: a flag is nobody's personal data, but every event names a subject.
    public func featureFlag(key: String) -> String { id(of: "feature_flag:\(key)") }

    /// A UUIDv8 (custom, name-based) from the HMAC of `name`.
    private func id(of name: String) -> String {
        EventID.nameBased(Array(HMAC<SHA256>.authenticationCode(for: Data(name.utf8), using: key)))
    }
}
