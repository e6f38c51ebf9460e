import Foundation
import NIOCore
import NIOSSL

/// A server's reply: its code and the text of each of its lines.
public struct SMTPReply: Sendable, Hashable {
    public var code: Int
    public var lines: [String]

    var isPositive: Bool { (200..<400).contains(code) }
    /// The reply's text, with anything shaped like an address masked (a server repeats the recipient).
    var summary: String {
        let text = lines.joined(separator: " ").split(separator: " ").map { word in
            word.contains("@") ? MailMask.address(String(word)) : String(word)
        }.joined(separator: " ")
        return "\(code) " + String(text.prefix(200))
    }
}

/// Why a message was not sent.
public enum SMTPError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No connection (refused, unreachable, or a name that does not resolve).
    case connect(String)
    case timeout(stage: String)
    case tls(String)
    /// The server closed the connection.
    case closed(stage: String)
    /// The server refused a command.
    case refused(stage: String, reply: SMTPReply)
    /// STARTTLS is required (or credentials are to be sent) and the server does not offer it.
    case noStartTLS
    /// Credentials were given and the server offers neither PLAIN nor LOGIN.
    case noAuthentication
    case malformedReply(String)
    /// An address that cannot go in an SMTP envelope.
    case invalidAddress(String)

    /// Whether another attempt cannot help: the server refused the sender, the recipient or the message for good
    /// (5xx), or the address is malformed. Authentication, TLS and connection problems are the operator's to mend,
    /// so they are worth another attempt.
    public var isPermanent: Bool {
        switch self {
        case .refused(let stage, let reply): reply.code >= 500 && stage != "AUTH" && stage != "EHLO"
        case .invalidAddress: true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .connect(let reason): "could not connect: \(reason)"
        case .timeout(let stage): "no answer to \(stage) in time"
        case .tls(let reason): "TLS failed: \(reason)"
        case .closed(let stage): "the server closed the connection during \(stage)"
        case .refused(let stage, let reply): "the server refused \(stage): \(reply.summary)"
        case .noStartTLS: "the server does not offer STARTTLS, which is required"
        case .noAuthentication: "the server offers neither AUTH PLAIN nor AUTH LOGIN"
        case .malformedReply(let reason): "a malformed reply: \(reason)"
        case .invalidAddress(let address): "not an address: \(MailMask.address(address))"
        }
    }
}

/// Addresses as logs and errors show them: `j***@example.com`.
public enum MailMask {
    public static func address(_ text: String) -> String {
        let trimmed = text.trimmingCharacters(in: .init(charactersIn: "<>,;:()"))
        guard let at = trimmed.lastIndex(of: "@") else { return "***" }
        let local = trimmed[..<at]
        return (local.first.map { "\($0)***" } ?? "***") + trimmed[at...]
    }
}

/// Splits the byte stream into replies: `250-first`, `250-more`, `250 last` is one reply of three lines.
struct SMTPReplyDecoder: ByteToMessageDecoder {
    typealias InboundOut = SMTPReply
    private var lines: [String] = []
    private var code = 0
    static let maximumLine = 4096
    static let maximumLines = 200

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let view = buffer.readableBytesView
        guard let newline = view.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > Self.maximumLine { throw SMTPError.malformedReply("a line is too long") }
            return .needMoreData
        }
        let length = view.distance(from: view.startIndex, to: newline) + 1
        guard length <= Self.maximumLine, var line = buffer.readString(length: length) else {
            throw SMTPError.malformedReply("a line is too long")
        }
        while line.last == "\n" || line.last == "\r" || line.last == "\r\n" { line.removeLast() }
        let bytes = Array(line.utf8)
        guard bytes.count >= 3, let code = Int(String(decoding: bytes[0..<3], as: UTF8.self)),
            (200..<600).contains(code)
        else { throw SMTPError.malformedReply("a line without a reply code") }
        guard lines.isEmpty || code == self.code else { throw SMTPError.malformedReply("a reply changed its code") }
        let separator = bytes.count > 3 ? bytes[3] : UInt8(ascii: " ")
        self.code = code
        lines.append(bytes.count > 4 ? String(decoding: bytes[4...], as: UTF8.self) : "")
        guard lines.count <= Self.maximumLines else { throw SMTPError.malformedReply("a reply is too long") }
        if separator == UInt8(ascii: "-") { return .continue }
        context.fireChannelRead(wrapInboundOut(SMTPReply(code: code, lines: lines)))
        lines = []
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws
        -> DecodingState
    {
        while try decode(context: context, buffer: &buffer) == .continue, buffer.readableBytes > 0 {}
        return .needMoreData
    }
}

/// Hands replies to the commands waiting for them, in order; a reply that comes before anyone waits (the greeting)
/// is kept for the first. Everything runs on the channel's event loop.
final class SMTPReplyHandler: ChannelInboundHandler {
    typealias InboundIn = SMTPReply
    private var waiting = CircularBuffer<EventLoopPromise<SMTPReply>>()
    private var early = CircularBuffer<SMTPReply>()
    private var failure: SMTPError?
    private var stage = "the greeting"

    func expect(_ promise: EventLoopPromise<SMTPReply>, stage: String) {
        self.stage = stage
        if let reply = early.popFirst() {
            promise.succeed(reply)
        } else if let failure {
            promise.fail(failure)
        } else {
            waiting.append(promise)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let reply = unwrapInboundIn(data)
        if let promise = waiting.popFirst() { promise.succeed(reply) } else { early.append(reply) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let failure: SMTPError =
            switch error {
            case let error as SMTPError: error
            case let error as NIOSSLError: .tls("\(error)")
            case let error as BoringSSLError: .tls("\(error)")
            case let error as NIOSSLExtraError: .tls("\(error)")
            default: .closed(stage: stage)
            }
        fail(failure)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(.closed(stage: stage))
        context.fireChannelInactive()
    }

    func fail(_ error: SMTPError) {
        if failure == nil { failure = error }
        while let promise = waiting.popFirst() { promise.fail(error) }
    }
}
