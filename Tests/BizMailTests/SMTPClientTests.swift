import BizMail
import BizTesting
import Foundation
import Testing

/// The SMTP client against aiosmtpd (`scripts/smtp-server`), an independent server: STARTTLS, TLS from the first
/// byte, AUTH PLAIN and LOGIN, refusals, and a server that goes away and comes back.
@Suite("SMTP client against aiosmtpd")
struct SMTPClientTests {
    static func message(id: String = "d-1@biz-retail.test", to: String = "ana@example.com") -> MailMessage {
        MailMessage(
            from: Mailbox("no-reply@biz-retail.test", name: "Biz Retail"), to: [Mailbox(to, name: "Ana Conceição")],
            subject: "Bem-vinda à Biz Retail, Ana Conceição — sua conta está pronta para uso imediato",
            text: "Olá, Ana!\n.Uma linha que começa com ponto.\nAté logo.",
            html: "<p>Olá, <b>Ana</b>!</p>", messageID: id)
    }

    @Test("STARTTLS and AUTH: the message arrives over TLS, authenticated, with its parts and headers")
    func startTLSWithAuthentication() async throws {
        let directory = try Scratch()
        defer { directory.remove() }
        let server = try await SMTPTestServer.start(in: directory.path, user: "mailer", password: "s3cr:et@")
        defer { server.stop() }
        var settings = try SMTPSettings(url: "smtp://mailer:s3cr%3Aet%40@127.0.0.1:\(server.port)")
        #expect(settings.security == .startTLS)
        settings.certificateAuthorities = server.certificateFile
        let client = try SMTPClient(settings: settings)
        defer { client.shutdown() }
        try await client.send(Self.message())
        try await client.send(Self.message(id: "d-2@biz-retail.test", to: "bruno@example.com"))
        let received = try server.received()
        try #require(received.count == 2)
        let first = received[0]
        #expect(first.tls)
        #expect(first.user == "mailer")
        #expect(first.mailFrom == "no-reply@biz-retail.test")
        #expect(first.recipients == ["ana@example.com"])
        #expect(first.headers["Message-ID"] == "<d-1@biz-retail.test>")
        #expect(first.headers["Subject"] == Self.message().subject)
        #expect(first.headers["To"] == "Ana Conceição <ana@example.com>")
        #expect(first.headers["From"] == "Biz Retail <no-reply@biz-retail.test>")
        #expect(first.headers["Date"]?.hasSuffix("+0000") == true)
        #expect(first.text?.replacingOccurrences(of: "\r\n", with: "\n").hasPrefix(Self.message().text) == true)
        #expect(first.html?.contains("<p>Olá, <b>Ana</b>!</p>") == true)
        #expect(!first.raw.split(separator: "\r\n").contains { $0.utf8.count > 78 })
        #expect(received[1].recipients == ["bruno@example.com"])
    }

    @Test("AUTH LOGIN when the server offers only LOGIN; a wrong password is a refusal worth retrying")
    func loginAndWrongPassword() async throws {
        let directory = try Scratch()
        defer { directory.remove() }
        let server = try await SMTPTestServer.start(in: directory.path, tls: .implicit, user: "u", password: "p")
        defer { server.stop() }
        var settings = try SMTPSettings(url: "smtps://u:wrong@127.0.0.1:\(server.port)")
        settings.certificateAuthorities = server.certificateFile
        let client = try SMTPClient(settings: settings)
        defer { client.shutdown() }
        let error = await #expect(throws: SMTPError.self) { try await client.send(Self.message()) }
        let refusal: (stage: String, code: Int)? =
            if case .refused(let stage, let reply) = error { (stage, reply.code) } else { nil }
        #expect(refusal?.stage == "AUTH" && refusal?.code == 535)
        #expect(error?.isPermanent == false)
        #expect(try server.received().isEmpty)
    }

    @Test("smtps: TLS from the first byte, with AUTH")
    func implicitTLS() async throws {
        let directory = try Scratch()
        defer { directory.remove() }
        let server = try await SMTPTestServer.start(in: directory.path, tls: .implicit, user: "u", password: "p")
        defer { server.stop() }
        var settings = try SMTPSettings(url: "smtps://u:p@localhost:\(server.port)")
        settings.certificateAuthorities = server.certificateFile
        let client = try SMTPClient(settings: settings)
        defer { client.shutdown() }
        try await client.send(Self.message())
        #expect(try server.received().map { $0.tls } == [true])
    }

    @Test("An untrusted certificate fails TLS and sends nothing")
    func untrustedCertificate() async throws {
        let directory = try Scratch()
        defer { directory.remove() }
        let server = try await SMTPTestServer.start(in: directory.path)
        defer { server.stop() }
        let client = try SMTPClient(settings: try SMTPSettings(url: "smtp://127.0.0.1:\(server.port)"))
        defer { client.shutdown() }
        let error = await #expect(throws: SMTPError.self) { try await client.send(Self.message()) }
        #expect(error?.isPermanent == false)
        #expect(try server.received().isEmpty)
    }

    @Test("STARTTLS required but not offered: nothing is sent; a plain server is used when STARTTLS is optional")
    func startTLSRequired() async throws {
        let directory = try Scratch()
        defer { directory.remove() }
        let server = try await SMTPTestServer.start(in: directory.path, tls: .none)
        defer { server.stop() }
        let strict = try SMTPClient(
            settings: try SMTPSettings(url: "smtp://127.0.0.1:\(server.port)?starttls=required"))
        defer { strict.shutdown() }
        await #expect(throws: SMTPError.noStartTLS) { try await strict.send(Self.message()) }
        let relaxed = try SMTPClient(settings: try SMTPSettings(url: "smtp://127.0.0.1:\(server.port)"))
        defer { relaxed.shutdown() }
        try await relaxed.send(Self.message())
        #expect(try server.received().map { $0.tls } == [false])
    }

    @Test("A refused recipient: 5xx is permanent, 4xx is not, and the connection serves the next message")
    func refusedRecipients() async throws {
        let directory = try Scratch()
        defer { directory.remove() }
        let server = try await SMTPTestServer.start(in: directory.path)
        defer { server.stop() }
        var settings = try SMTPSettings(url: "smtp://127.0.0.1:\(server.port)")
        settings.certificateAuthorities = server.certificateFile
        let client = try SMTPClient(settings: settings)
        defer { client.shutdown() }
        try server.answer([550, 451])
        let permanent = await #expect(throws: SMTPError.self) { try await client.send(Self.message()) }
        #expect(permanent?.isPermanent == true)
        // The server's reply names no address in the error.
        #expect(permanent.map { "\($0)" }?.contains("ana@example.com") == false)
        let temporary = await #expect(throws: SMTPError.self) { try await client.send(Self.message()) }
        #expect(temporary?.isPermanent == false)
        try await client.send(Self.message())
        #expect(try server.received().count == 1)
    }

    @Test("A server that goes away: connection errors, then the message goes once it is back")
    func serverDownThenUp() async throws {
        let directory = try Scratch()
        defer { directory.remove() }
        let server = try await SMTPTestServer.start(in: directory.path)
        defer { server.stop() }
        var settings = try SMTPSettings(url: "smtp://127.0.0.1:\(server.port)")
        settings.certificateAuthorities = server.certificateFile
        let client = try SMTPClient(settings: settings)
        defer { client.shutdown() }
        try await client.send(Self.message(id: "before@x"))
        server.stop()
        try await Task.sleep(for: .milliseconds(200))
        let down = await #expect(throws: SMTPError.self) { try await client.send(Self.message(id: "down@x")) }
        #expect(down?.isPermanent == false)
        try await server.restart()
        try await client.send(Self.message(id: "after@x"))
        #expect(try server.received().compactMap { $0.headers["Message-ID"] } == ["<before@x>", "<after@x>"])
    }

    @Test("Malformed addresses are refused before connecting; bad URLs name the problem, never the password")
    func inputs() async throws {
        let client = try SMTPClient(settings: try SMTPSettings(url: "smtp://127.0.0.1:1"))
        for address in ["", "no-at", "a@", "@b", "a b@c", "a@b@c", "<a@b>", "a@b\r\nRCPT TO:<x@y>"] {
            await #expect(throws: SMTPError.invalidAddress(address)) {
                try await client.send(Self.message(to: address))
            }
        }
        for url in ["http://host", "smtp://", "smtp://u@host", "smtp://host?starttls=maybe", "smtp://host?x=1"] {
            #expect(throws: SMTPSettings.Invalid.self) { try SMTPSettings(url: url) }
        }
        let withPassword = try SMTPSettings(url: "smtps://user:hunter2@mail.example.com")
        #expect(withPassword.port == 465)
        #expect(withPassword.redacted == "smtps://user:***@mail.example.com:465")
        #expect(try SMTPSettings(url: "smtp://mail.example.com").port == 587)
    }
}

/// A fresh directory under the system's temporary one.
struct Scratch {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("biz-mail-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}
