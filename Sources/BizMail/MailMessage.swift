import Foundation

/// A mailbox: an address and, optionally, a display name.
public struct Mailbox: Sendable, Hashable {
    public var address: String
    public var name: String?

    public init(_ address: String, name: String? = nil) {
        self.address = address
        self.name = name
    }

    /// Whether `address` can go in an SMTP envelope: ASCII `local@domain`, no spaces, brackets or controls.
    public var isValid: Bool {
        let bytes = Array(address.utf8)
        let forbidden = Set("<>()[],;:\\\" ".utf8)
        guard bytes.count <= 254, bytes.allSatisfy({ $0 > 32 && $0 < 127 && !forbidden.contains($0) }),
            let at = bytes.firstIndex(of: UInt8(ascii: "@")), at > 0, at < bytes.count - 1
        else { return false }
        return bytes.lastIndex(of: UInt8(ascii: "@")) == at
    }

    /// `"Name" <address>` (the name as an RFC 2047 word when it is not plain ASCII).
    var header: String {
        guard let name, !name.isEmpty else { return address }
        return "\(MailMessage.encodedWords(name, phrase: true)) <\(address)>"
    }
}

/// One email: plain text and, optionally, HTML (`multipart/alternative`), with RFC 5322 headers.
public struct MailMessage: Sendable, Hashable {
    public var from: Mailbox
    public var to: [Mailbox]
    public var subject: String
    public var text: String
    public var html: String?
    /// Without its angle brackets: `local@domain`. The same on every attempt, so a receiver can drop a repeat.
    public var messageID: String
    public var date: Date

    public init(
        from: Mailbox, to: [Mailbox], subject: String, text: String, html: String? = nil, messageID: String,
        date: Date = Date()
    ) {
        self.from = from
        self.to = to
        self.subject = subject
        self.text = text
        self.html = html
        self.messageID = messageID
        self.date = date
    }

    /// The message as DATA carries it: CRLF lines, headers, then the body parts in base64 (76-column lines), so no
    /// line is too long and no byte is 8-bit.
    public func rendered() -> [UInt8] {
        var lines: [String] = [
            "From: \(from.header)",
            "To: \(to.map(\.header).joined(separator: ", "))",
            "Subject: \(Self.encodedWords(subject, phrase: false))",
            "Date: \(Self.rfc5322Date(date))",
            "Message-ID: <\(messageID)>",
            "MIME-Version: 1.0",
        ]
        if let html {
            // FNV-1a of the message id: the same on every attempt, and no text line is `--` and it.
            let hash = messageID.utf8.reduce(UInt64(14_695_981_039_346_656_037)) {
                ($0 ^ UInt64($1)) &* 1_099_511_628_211
            }
            let boundary = "=_biz_" + String(hash, radix: 16)
            lines.append("Content-Type: multipart/alternative; boundary=\"\(boundary)\"")
            lines.append("")
            lines.append("--\(boundary)")
            lines += Self.part(text, type: "text/plain")
            lines.append("--\(boundary)")
            lines += Self.part(html, type: "text/html")
            lines.append("--\(boundary)--")
        } else {
            lines += Self.part(text, type: "text/plain")
        }
        return Array((lines.joined(separator: "\r\n") + "\r\n").utf8)
    }

    static func part(_ content: String, type: String) -> [String] {
        ["Content-Type: \(type); charset=UTF-8", "Content-Transfer-Encoding: base64", ""]
            + base64Lines(Array(content.utf8))
    }

    static func base64Lines(_ bytes: [UInt8]) -> [String] {
        let encoded = Data(bytes).base64EncodedString()
        var lines: [String] = []
        var index = encoded.startIndex
        while index < encoded.endIndex {
            let end = encoded.index(index, offsetBy: 76, limitedBy: encoded.endIndex) ?? encoded.endIndex
            lines.append(String(encoded[index..<end]))
            index = end
        }
        return lines.isEmpty ? [""] : lines
    }

    /// `text` as itself when it is printable ASCII (and, in a phrase, free of specials), else as RFC 2047 encoded
    /// words (`=?UTF-8?B?…?=`) of whole characters, folded so no line passes 78 columns.
    static func encodedWords(_ text: String, phrase: Bool) -> String {
        let specials = "()<>[]:;@\\,.\""
        let plain = text.unicodeScalars.allSatisfy { $0.value >= 32 && $0.value < 127 }
        if plain && !(phrase && text.contains(where: specials.contains)) {
            return phrase
                ? text : text.replacingOccurrences(of: "\r", with: "").replacingOccurrences(of: "\n", with: " ")
        }
        if plain {
            return "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                + "\""
        }
        // 39 bytes of UTF-8 are 52 of base64: with `=?UTF-8?B?` and `?=`, 64 columns (73 after `Subject: `).
        var words: [String] = []
        var chunk: [UInt8] = []
        for character in text where character != "\r" && character != "\n" {
            let bytes = Array(String(character).utf8)
            if chunk.count + bytes.count > 39 {
                words.append("=?UTF-8?B?\(Data(chunk).base64EncodedString())?=")
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty { words.append("=?UTF-8?B?\(Data(chunk).base64EncodedString())?=") }
        return words.joined(separator: "\r\n ")
    }

    /// `Tue, 01 Dec 2026 03:21:56 +0000`.
    static func rfc5322Date(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 0)!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int?) -> String { String(format: "%02d", value ?? 0) }
        return "\(days[(parts.weekday ?? 1) - 1]), \(two(parts.day)) \(months[(parts.month ?? 1) - 1]) "
            + "\(parts.year ?? 1970) \(two(parts.hour)):\(two(parts.minute)):\(two(parts.second)) +0000"
    }
}
