import BizProtos
import Crypto
import Foundation

/// Page tokens that reveal nothing: the position of the previous page's last item is a row id, which would tell how
/// many rows the platform holds across tenants, so it travels sealed with AES-GCM under a key derived from the master
/// key. Every replica reads every other's tokens; a client can neither read nor forge one (a changed token is
/// refused as not issued here).
public struct PageTokens: Sendable {
    private let key: SymmetricKey

    public init(masterKey: MasterKey) {
        key = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: masterKey.key, info: Data("biz-retail page tokens".utf8), outputByteCount: 32)
    }

    /// The token for the page after the item at `position`: base64url, 48 characters.
    public func token(after position: Int64) -> String {
        var bigEndian = position.bigEndian
        let plaintext = withUnsafeBytes(of: &bigEndian) { Data($0) }
        // Sealing 8 bytes with a fresh nonce cannot fail.
        let sealed = (try? AES.GCM.seal(plaintext, using: key).combined) ?? Data()
        return sealed.base64URLEncodedString
    }

    /// The position a `page_token` carries; nil for the first page (an empty token).
    public func position(of token: String) throws(PaginationError) -> Int64? {
        guard !token.isEmpty else { return nil }
        guard token.utf8.count <= 64, let sealed = Data(base64URL: token),
            let box = try? AES.GCM.SealedBox(combined: sealed),
            let plaintext = try? AES.GCM.open(box, using: key), plaintext.count == 8
        else {
            throw PaginationError(field: "page_token", problem: "is not a token this service issued")
        }
        let position = plaintext.reduce(Int64(0)) { $0 << 8 | Int64($1) }
        guard position >= 0 else {
            throw PaginationError(field: "page_token", problem: "is not a token this service issued")
        }
        return position
    }
}

extension PageTokens {
    /// A page from `rows`, read with a limit of `size + 1`: the first `size` rows, and the token of the page after
    /// them when the extra row shows there is one (`""` on the last page). `position` is a row's cursor (its id).
    public func page<Row>(_ rows: [Row], size: Int, position: (Row) -> Int64) -> (rows: ArraySlice<Row>, next: String) {
        let page = rows.prefix(size)
        guard rows.count > size, let last = page.last else { return (page, "") }
        return (page, token(after: position(last)))
    }
}
