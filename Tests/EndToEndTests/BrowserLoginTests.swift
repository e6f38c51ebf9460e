import BizEvents
import BizTesting
import Foundation
import Testing

extension GatewayEndToEndTests {
    /// Where the browser test keeps the login page's screenshots.
    static let testOutput = BizRetailProcess.packageRoot + "/.build/test-output"

    @Test(
        "headless Chromium signs in on the login page (pt-BR and en) and lands on the redirect URI with a code",
        arguments: [("en-US", "Sign in · Biz Retail"), ("pt-BR", "Entrar · Biz Retail")])
    func browserLogin(language: String, title: String) async throws {
        try await withEmbedded { system, https, admin in
            let port = try freePort()
            let flow = try await browserClient(https, admin, redirectURI: "http://127.0.0.1:\(port)/callback")
            try FileManager.default.createDirectory(atPath: Self.testOutput, withIntermediateDirectories: true)
            let screenshot = Self.testOutput + "/login-page-\(language).png"
            try? FileManager.default.removeItem(atPath: screenshot)
            let email = try #require(system.bootstrapCredential("admin_email"))
            let result = try await runProgram(
                "/usr/bin/env",
                [
                    "python3", BizRetailProcess.packageRoot + "/Tests/Browser/login_flow.py",
                    "--authorize-url", https.baseURL + flow.path(), "--callback-port", "\(port)",
                    // `--name=value`: a generated password may begin with "-".
                    "--email=" + email, "--password=" + (try #require(system.bootstrapCredential("admin_password"))),
                    "--screenshot", screenshot, "--language", language,
                ])
            try #require(result.status == 0, "the browser failed:\n\(result.output)\n\(result.error.suffix(4_000))")
            let report = try #require(try? JSONParser.parse(Array(result.output.utf8)), "\(result.output)")
            #expect(report["page"]?["title"]?.stringValue == title)
            #expect(report["page"]?["lang"]?.stringValue == (language == "pt-BR" ? "pt-BR" : "en"))
            #expect(report["callback"]?["state"]?.stringValue == flow.state)
            let code = try #require(report["callback"]?["code"]?.stringValue)

            // The screenshot is a PNG of a page (kept in .build/test-output).
            let image = try #require(FileManager.default.contents(atPath: screenshot))
            #expect(image.count > 5_000)
            #expect(image.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))

            // The browser's code, exchanged by the client with its verifier.
            let tokens = try await flow.exchange(https, code: code)
            #expect(tokens.status == 200, "\(tokens.text)")
            let accessToken = try #require(tokens.json?["access_token"]?.stringValue)
            #expect(
                try await https.request("GET", "/oauth2/userinfo", bearer: accessToken).json?["email"]?.stringValue
                    == email)
            #expect(
                AuthorizationFlow.claims(tokens.json?["id_token"]?.stringValue ?? "")?["nonce"]?.stringValue
                    == flow.nonce)
        }
    }
}
