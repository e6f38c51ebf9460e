import BizAuth
import BizEvents
import BizProtos
import BizStorage
import Foundation
import HummingbirdBcrypt
import SQLKit

/// An RFC 6749 token request, as the gateway receives it.
public struct TokenRequest: Sendable {
    public var grantType: String
    public var clientID: String
    public var clientSecret: String
    public var username: String
    public var password: String
    public var refreshToken: String
    public var scope: String
    public var code: String
    public var redirectURI: String
    public var codeVerifier: String

    public init(
        grantType: String, clientID: String, clientSecret: String, username: String = "", password: String = "",
        refreshToken: String = "", scope: String = "", code: String = "", redirectURI: String = "",
        codeVerifier: String = ""
    ) {
        self.code = code
        self.redirectURI = redirectURI
        self.codeVerifier = codeVerifier
        self.grantType = grantType
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.username = username
        self.password = password
        self.refreshToken = refreshToken
        self.scope = scope
    }
}
