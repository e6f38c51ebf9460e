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
}
