import BizEvents
import BizServiceKit
import Foundation
import Mustache
import SQLKit

/// The locales a template may have; the first is the default, which every template has.
public enum MessageLocale {
    public static let all = ["pt-BR", "en"]
    public static let `default` = "pt-BR"

    static func checked(_ text: String, field: String) throws(ServiceError) -> String {
        guard let locale = all.first(where: { $0 == text }) else {
            throw .invalidArgument(field: field, problem: "must be one of \(all.joined(separator: ", "))")
        }
        return locale
    }
}

/// What a message says in one locale: a subject (an email's, an in-app notification's title), a plain-text body and,
/// optionally, an HTML body. Each is a Mustache template over the event: `{{event.type}}`, `{{event.id}}`,
/// `{{event.timestamp}}`, `{{tenant_id}}`, and the entity's state under `data` (`{{data.name}}`).
public struct TemplateContent: Sendable, Hashable {
    public var subject: String
    public var text: String
    public var html: String?

    public init(subject: String, text: String, html: String? = nil) {
        self.subject = subject
        self.text = text
        self.html = html
    }

    var json: JSONValue {
        ["subject": .string(subject), "text": .string(text), "html": html.map(JSONValue.string) ?? .null]
    }

    init?(json: JSONValue) {
        guard let subject = json["subject"]?.stringValue, let text = json["text"]?.stringValue else { return nil }
        self.init(subject: subject, text: text, html: json["html"]?.stringValue)
    }
}

/// A message the platform renders: ``TemplateContent`` per locale, checked when saved (a template that does not
/// parse is refused then, not found broken when an event comes).
public struct CompiledContent: Sendable {
    var subject: MustacheTemplate
    var text: MustacheTemplate
    var html: MustacheTemplate?

    static let subjectBytes = 500
    static let bodyBytes = 64 * 1024

    /// Compiles `content`; a failure names the field (`locales.pt-BR.text`) and where the template breaks.
    init(_ content: TemplateContent, field: String) throws(ServiceError) {
        // Empty is outside the API's schema (400); blank, or too many bytes of UTF-8, is not (422).
        for (name, value) in [("subject", content.subject), ("text", content.text)] {
            guard !value.isEmpty else { throw .invalidArgument(field: field + "." + name, problem: "is required") }
            guard !value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw .unprocessable(field: field + "." + name, problem: "may not be blank")
            }
        }
        guard content.subject.utf8.count <= Self.subjectBytes else {
            throw .unprocessable(field: field + ".subject", problem: "may hold at most \(Self.subjectBytes) bytes")
        }
        for (name, value) in [("text", content.text), ("html", content.html ?? "")]
        where value.utf8.count > Self.bodyBytes {
            throw .unprocessable(field: field + "." + name, problem: "may hold at most \(Self.bodyBytes) bytes")
        }
        subject = try Self.compile(content.subject, escaping: false, field: field + ".subject")
        text = try Self.compile(content.text, escaping: false, field: field + ".text")
        html = try content.html.map { (html) throws(ServiceError) in
            try Self.compile(html, escaping: true, field: field + ".html")
        }
    }

    /// Plain text is not HTML-escaped; HTML is.
    static func compile(_ source: String, escaping: Bool, field: String) throws(ServiceError) -> MustacheTemplate {
        do {
            return try MustacheTemplate(string: (escaping ? "" : "{{% CONTENT_TYPE: TEXT}}") + source)
        } catch let error as MustacheTemplate.ParserError {
            let column =
                error.context.lineNumber == 1 && !escaping
                ? max(error.context.columnNumber - 24, 1) : error.context.columnNumber
            throw .unprocessable(
                field: field,
                problem: "is not a valid Mustache template (line \(error.context.lineNumber), column \(column): "
                    + "\(Self.describe(error.error)))")
        } catch {
            throw .unprocessable(field: field, problem: "is not a valid Mustache template")
        }
    }

    static func describe(_ error: any Error) -> String {
        switch error as? MustacheTemplate.Error {
        case .sectionCloseNameIncorrect: "a section closes with another name"
        case .unfinishedName: "a tag is not closed"
        case .expectedSectionEnd: "a section is not closed"
        case .invalidSetDelimiter: "a malformed delimiter change"
        case .unrecognisedConfigVariable, .invalidConfigVariableSyntax: "an unknown pragma"
        default: "\(error)"
        }
    }

    /// The message for `event` (subject on one line).
    func render(_ context: [String: Any]) -> RenderedMessage {
        let subject = subject.render(context).split(whereSeparator: \.isNewline).joined(separator: " ")
        return RenderedMessage(
            subject: String(subject.prefix(Self.subjectBytes)), text: text.render(context),
            html: html?.render(context))
    }

    /// What a template sees of an event.
    static func context(of event: EventEnvelope, tenantID: String) -> [String: Any] {
        [
            "event": ["type": event.eventType.description, "id": event.eventID, "timestamp": event.timestamp.rfc3339],
            "tenant_id": tenantID, "data": plain(.object(event.payload)),
        ]
    }

    /// JSON as Mustache walks it: dictionaries, arrays, strings, numbers and booleans (null: absent).
    static func plain(_ value: JSONValue) -> Any {
        switch value {
        case .object(let object): object.compactMapValues { $0 == .null ? nil : plain($0) }
        case .array(let array): array.map(plain)
        case .string(let text): text
        case .integer(let number): number
        case .double(let number): number
        case .bool(let flag): flag
        case .null: ""
        }
    }
}

/// A message rendered for one delivery.
public struct RenderedMessage: Sendable, Hashable {
    public var subject: String
    public var text: String
    public var html: String?
}

/// A tenant's template, by key (`welcome`), with its content per locale.
public struct TemplateRecord: Sendable, Hashable {
    public var id: Int64
    public var publicID: String
    public var tenantID: String
    public var key: String
    public var locales: [String: TemplateContent]
    public var version: Int64
    public var createdAt: String
    public var updatedAt: String

    static let columns = "id, public_id, tenant_id, template_key, locales, version, created_at, updated_at"

    init(publicID: String, tenantID: String, key: String, locales: [String: TemplateContent], now: String) {
        id = 0
        self.publicID = publicID
        self.tenantID = tenantID
        self.key = key
        self.locales = locales
        version = 1
        createdAt = now
        updatedAt = now
    }

    init(row: any SQLRow) throws {
        let text = try row.decode(column: "locales", as: String.self)
        var locales: [String: TemplateContent] = [:]
        if case .object(let object)? = try? JSONParser.parse(Array(text.utf8)) {
            for (locale, content) in object { locales[locale] = TemplateContent(json: content) }
        }
        self.init(
            publicID: try row.decode(column: "public_id", as: String.self),
            tenantID: try row.decode(column: "tenant_id", as: String.self),
            key: try row.decode(column: "template_key", as: String.self), locales: locales,
            now: try row.decode(column: "created_at", as: String.self))
        id = try row.decode(column: "id", as: Int64.self)
        version = try row.decode(column: "version", as: Int64.self)
        updatedAt = try row.decode(column: "updated_at", as: String.self)
    }

    var localesJSON: JSONValue { .object(locales.mapValues(\.json)) }

    var localesText: String { String(decoding: localesJSON.canonicalBytes(), as: UTF8.self) }

    var payload: [String: JSONValue] {
        [
            "id": .integer(id), "public_id": .string(publicID), "tenant_id": .string(tenantID), "key": .string(key),
            "locales": localesJSON, "version": .integer(version), "created_at": .string(createdAt),
            "updated_at": .string(updatedAt),
        ]
    }

    /// A key: lower-case letters, digits, `-` and `_`, up to 64, starting with a letter or digit.
    static func checkedKey(_ text: String) throws(ServiceError) -> String {
        let bytes = Array(text.utf8)
        let allowed: (UInt8) -> Bool = { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
        }
        guard !bytes.isEmpty else { throw .invalidArgument(field: "key", problem: "is required") }
        guard bytes.count <= 64, bytes.allSatisfy(allowed), bytes[0] != UInt8(ascii: "-"),
            bytes[0] != UInt8(ascii: "_")
        else {
            throw .invalidArgument(
                field: "key",
                problem: "must be 1 to 64 lower-case letters, digits, '-' or '_', starting with a letter or digit")
        }
        return text
    }

    /// The locales checked: the default one present, each known, each compiling.
    static func checkedLocales(_ locales: [String: TemplateContent]) throws(ServiceError) -> [String: TemplateContent] {
        var checked: [String: TemplateContent] = [:]
        for (name, content) in locales {
            let locale = try MessageLocale.checked(name, field: "locales")
            _ = try CompiledContent(content, field: "locales.\(locale)")
            checked[locale] = content
        }
        guard checked[MessageLocale.default] != nil else {
            throw .unprocessable(
                field: "locales", problem: "must include \(MessageLocale.default), the default locale")
        }
        return checked
    }

    /// The content for `locale`, else the default locale's.
    func compiled(for locale: String) throws -> CompiledContent {
        let content = locales[locale] ?? locales[MessageLocale.default] ?? locales.values.first
        guard let content else { throw ServiceError.notFound("template content") }
        return try CompiledContent(content, field: "locales.\(locale)")
    }
}
