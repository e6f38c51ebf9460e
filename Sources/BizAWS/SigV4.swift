import BizEvents
import Crypto
import Foundation

/// AWS credentials (the configuration reads them from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, optionally
/// `AWS_SESSION_TOKEN`). `description` never shows the secret.
public struct AWSCredentials: Sendable, Hashable, CustomStringConvertible {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    public var description: String { "AWSCredentials(\(accessKeyID), secret hidden)" }
}

/// AWS Signature Version 4 for requests whose path is `/` and whose query is empty (the JSON APIs: DynamoDB,
/// Secrets Manager). Checked against the AWS test suite's `get-vanilla` and `post-vanilla` vectors.
public struct SigV4Signer: Sendable {
    public var credentials: AWSCredentials
    public var region: String
    public var service: String

    public init(credentials: AWSCredentials, region: String, service: String) {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// The headers to add to a request with `headers` (names as sent) and `body`: `x-amz-date`,
    /// `x-amz-security-token` when there is a session token, and `authorization`.
    public func sign(
        method: String, host: String, headers: [(String, String)], body: [UInt8], date: Date = Date()
    ) -> [(String, String)] {
        let (amzDate, day) = Self.timestamps(date)
        var added: [(String, String)] = [("x-amz-date", amzDate)]
        if let token = credentials.sessionToken { added.append(("x-amz-security-token", token)) }
        var canonical: [String: String] = ["host": host]
        for (name, value) in headers + added {
            canonical[name.lowercased()] = value.trimmingCharacters(in: .whitespaces)
        }
        let names = canonical.keys.sorted()
        let signedHeaders = names.joined(separator: ";")
        let canonicalRequest = [
            method, "/", "", names.map { "\($0):\(canonical[$0]!)\n" }.joined(), signedHeaders,
            SHA256.hash(data: body).hexString,
        ].joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = [
            "AWS4-HMAC-SHA256", amzDate, scope, SHA256.hash(data: Array(canonicalRequest.utf8)).hexString,
        ].joined(separator: "\n")
        var key = SymmetricKey(data: Array(("AWS4" + credentials.secretAccessKey).utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        let signature = Array(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key)).hexString
        added.append(
            (
                "authorization",
                "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), "
                    + "Signature=\(signature)"
            ))
        return added
    }

    /// `20150830T123600Z` and `20150830`, in UTC.
    static func timestamps(_ date: Date) -> (String, String) {
        var time = time_t(date.timeIntervalSince1970)
        var parts = tm()
        gmtime_r(&time, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let day = "\(parts.tm_year + 1900)\(two(parts.tm_mon + 1))\(two(parts.tm_mday))"
        return (day + "T\(two(parts.tm_hour))\(two(parts.tm_min))\(two(parts.tm_sec))Z", day)
    }
}
