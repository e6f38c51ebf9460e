import BizAuth
import BizEvents
import BizProtos
import BizStorage
import Foundation
import HummingbirdBcrypt
import SQLKit

public struct IssuedToken: Sendable {
    public var accessToken: String
    public var expiresIn: Int
    public var refreshToken: String?
    public var scope: String
    /// An OpenID Connect ID token, when the scope holds `openid` and a user signed in.
    public var idToken: String? = nil
}
