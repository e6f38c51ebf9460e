import BizMail
import Foundation

/// Sends email deliveries through the SMTP server of `BIZ_SMTP_URL`, from `BIZ_SMTP_FROM`. Every attempt of a
/// delivery sends the same message with the same `Message-ID` (the delivery id at the sender's domain), so a
/// receiver can tell a repeat.
public final class EmailSender: Sendable {
    public let client: SMTPClient?
    public let from: Mailbox

    /// `client` nil: no SMTP server is configured, and email deliveries fail saying so.
    public init(client: SMTPClient?, from: Mailbox) {
        self.client = client
        self.from = from
    }

    /// The default sender: `Biz Retail <no-reply@biz-retail.local>`.
    public static let defaultFrom = Mailbox("no-reply@biz-retail.local", name: "Biz Retail")

    /// `address` or `Name <address>`, if valid.
    public static func mailbox(_ text: String) -> Mailbox? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasSuffix(">"), let open = trimmed.lastIndex(of: "<") {
            let address = String(trimmed[trimmed.index(after: open)..<trimmed.index(before: trimmed.endIndex)])
            let name = trimmed[..<open].trimmingCharacters(in: .whitespaces).trimmingCharacters(
                in: .init(charactersIn: "\""))
            let mailbox = Mailbox(address, name: name.isEmpty ? nil : name)
            return mailbox.isValid ? mailbox : nil
        }
        let mailbox = Mailbox(trimmed)
        return mailbox.isValid ? mailbox : nil
    }

    func send(_ delivery: DeliveryRecord) async -> AttemptOutcome {
        guard let client else {
            return .failed(code: 0, error: "no SMTP server is configured (BIZ_SMTP_URL): retry once it is")
        }
        guard let recipient = delivery.recipient, let body = EmailBody(delivery.body) else {
            return .failed(code: 0, error: "the delivery holds no message")
        }
        let domain = from.address.split(separator: "@").last.map(String.init) ?? "biz-retail.local"
        let message = MailMessage(
            from: from, to: [Mailbox(recipient)], subject: body.message.subject, text: body.message.text,
            html: body.message.html, messageID: "\(delivery.publicID)@\(domain)")
        do {
            try await client.send(message)
            return .sent(code: 250)
        } catch {
            let code = if case .refused(_, let reply) = error { reply.code } else { 0 }
            return error.isPermanent
                ? .failed(code: code, error: error.description) : .retry(code: code, error: error.description)
        }
    }

    public func shutdown() { client?.shutdown() }
}
