import BizAWS
import Foundation
import Testing

@Suite("AWS Signature Version 4")
struct SigV4Tests {
    let signer = SigV4Signer(
        credentials: AWSCredentials(
            accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1", service: "service")
    /// 2015-08-30T12:36:00Z, the AWS test suite's instant.
    let instant = Date(timeIntervalSince1970: 1_440_938_160)

    @Test(
        "reproduces the AWS test suite's get-vanilla and post-vanilla signatures",
        arguments: [
            ("GET", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
            ("POST", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
        ])
    func vanilla(_ method: String, _ signature: String) {
        let headers = signer.sign(method: method, host: "example.amazonaws.com", headers: [], body: [], date: instant)
        #expect(headers.first { $0.0 == "x-amz-date" }?.1 == "20150830T123600Z")
        #expect(
            headers.first { $0.0 == "authorization" }?.1
                == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                + "SignedHeaders=host;x-amz-date, Signature=\(signature)")
    }

    @Test("a session token is sent and signed; the secret never appears in descriptions")
    func sessionToken() {
        var credentials = signer.credentials
        credentials.sessionToken = "token-123"
        let headers = SigV4Signer(credentials: credentials, region: "us-east-1", service: "dynamodb").sign(
            method: "POST", host: "localhost:5000", headers: [("x-amz-target", "DynamoDB_20120810.GetItem")],
            body: Array("{}".utf8), date: instant)
        #expect(headers.first { $0.0 == "x-amz-security-token" }?.1 == "token-123")
        #expect(
            headers.first { $0.0 == "authorization" }?.1.contains(
                "SignedHeaders=host;x-amz-date;x-amz-security-token;x-amz-target") == true)
        #expect(!"\(credentials)".contains(credentials.secretAccessKey))
    }
}
