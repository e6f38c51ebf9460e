import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// A small SMTP client (RFC 5321) on SwiftNIO: EHLO, STARTTLS (RFC 3207) or TLS from the first byte, AUTH PLAIN or
/// LOGIN (RFC 4954), one message per MAIL transaction. At most ``SMTPSettings/maximumConnections`` are open at once,
/// kept between messages and reset with RSET after a refusal; one that the server closed meanwhile is replaced.
public final class SMTPClient: Sendable {
    public let settings: SMTPSettings
    private let tls: NIOSSLContext
    private let group: any EventLoopGroup
    private let pool = Mutex(Pool())

    public init(settings: SMTPSettings, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) throws {
        self.settings = settings
        self.group = group
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let file = settings.certificateAuthorities {
            configuration.additionalTrustRoots = [.certificates(try NIOSSLCertificate.fromPEMFile(file))]
        }
        tls = try NIOSSLContext(configuration: configuration)
    }

    /// Sends `message` to every one of its recipients (`to`), or fails without sending it to any: a recipient the
    /// server refuses fails the message. Waits for a connection when ``SMTPSettings/maximumConnections`` are busy.
    public func send(_ message: MailMessage) async throws(SMTPError) {
        for mailbox in [message.from] + message.to where !mailbox.isValid {
            throw .invalidAddress(mailbox.address)
        }
        if let reused = await acquire() {
            do {
                try await reused.transaction(message)
                release(reused)
                return
            } catch .closed, .timeout {
                // The server dropped a kept connection meanwhile: once, a new one is tried (in the same slot).
                reused.close()
            } catch {
                release(await reused.recovered(after: error))
                throw error
            }
        }
        let connection: SMTPConnection
        do {
            connection = try await open()
        } catch {
            release(nil)
            throw error
        }
        do {
            try await connection.transaction(message)
        } catch {
            release(await connection.recovered(after: error))
            throw error
        }
        release(connection)
    }

    /// The connections: those kept open between messages, how many exist (kept, in use or being opened), and the
    /// senders waiting for one.
    struct Pool {
        var idle: [SMTPConnection] = []
        var open = 0
        var waiting: [CheckedContinuation<SMTPConnection?, Never>] = []
    }

    /// A kept connection; or nil, with a slot to open one in.
    func acquire() async -> SMTPConnection? {
        let maximum = max(settings.maximumConnections, 1)
        return await withCheckedContinuation { continuation in
            pool.withLock { pool in
                if let connection = pool.idle.popLast() {
                    continuation.resume(returning: connection)
                } else if pool.open < maximum {
                    pool.open += 1
                    continuation.resume(returning: nil)
                } else {
                    pool.waiting.append(continuation)
                }
            }
        }
    }

    /// Hands a connection (or, nil, the slot of one that was closed) to the next sender waiting, else keeps it.
    func release(_ connection: SMTPConnection?) {
        pool.withLock { pool in
            if !pool.waiting.isEmpty {
                pool.waiting.removeFirst().resume(returning: connection)
            } else if let connection {
                pool.idle.append(connection)
            } else {
                pool.open -= 1
            }
        }
    }

    /// Closes the kept connections.
    public func shutdown() {
        let idle = pool.withLock { pool in
            defer {
                pool.open -= pool.idle.count
                pool.idle = []
            }
            return pool.idle
        }
        for connection in idle { connection.quit() }
    }

    /// A connection greeted, secured and authenticated as the settings say.
    func open() async throws(SMTPError) -> SMTPConnection {
        let settings = settings
        let implicit = settings.security == .implicitTLS
        let serverName = Self.isIPAddress(settings.host) ? nil : settings.host
        let tls = tls
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(.seconds(settings.timeout))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let pipeline = channel.pipeline.syncOperations
                        if implicit {
                            try pipeline.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverName))
                        }
                        try pipeline.addHandler(ByteToMessageHandler(SMTPReplyDecoder()))
                        try pipeline.addHandler(SMTPReplyHandler())
                    }
                }
                .connect(host: settings.host, port: settings.port).get()
        } catch let error as IOError {
            throw .connect(error.description)
        } catch let error as ChannelError where error == .connectTimeout(.seconds(settings.timeout)) {
            throw .timeout(stage: "connect")
        } catch {
            throw .connect("\(error)")
        }
        let connection: SMTPConnection
        do {
            let handler = try await channel.eventLoop.submit {
                NIOLoopBound(
                    try channel.pipeline.syncOperations.handler(type: SMTPReplyHandler.self),
                    eventLoop: channel.eventLoop)
            }.get()
            connection = SMTPConnection(channel: channel, handler: handler, timeout: .seconds(settings.timeout))
        } catch {
            channel.close(promise: nil)
            throw .closed(stage: "connect")
        }
        do {
            try await connection.start(settings: settings, tls: tls, serverName: serverName)
        } catch {
            connection.close()
            throw error
        }
        return connection
    }

    static func isIPAddress(_ host: String) -> Bool {
        (try? SocketAddress(ipAddress: host, port: 0)) != nil
    }
}

/// One connection to the server, used by one message at a time.
final class SMTPConnection: Sendable {
    let channel: any Channel
    let handler: NIOLoopBound<SMTPReplyHandler>
    let timeout: TimeAmount

    init(channel: any Channel, handler: NIOLoopBound<SMTPReplyHandler>, timeout: TimeAmount) {
        self.channel = channel
        self.handler = handler
        self.timeout = timeout
    }

    /// Sends `command` (CRLF added) and waits for its reply; with no command, waits for the greeting.
    func exchange(_ command: String?, stage: String) async throws(SMTPError) -> SMTPReply {
        try await exchange(command.map { Array(($0 + "\r\n").utf8) }, stage: stage)
    }

    func exchange(_ bytes: [UInt8]?, stage: String) async throws(SMTPError) -> SMTPReply {
        let loop = channel.eventLoop
        let promise = loop.makePromise(of: SMTPReply.self)
        let timeout = timeout
        loop.execute { [self] in
            handler.value.expect(promise, stage: stage)
            let timer = loop.scheduleTask(in: timeout) { [self] in
                handler.value.fail(.timeout(stage: stage))
                channel.close(promise: nil)
            }
            promise.futureResult.whenComplete { _ in timer.cancel() }
            if let bytes { channel.writeAndFlush(ByteBuffer(bytes: bytes), promise: nil) }
        }
        do {
            return try await promise.futureResult.get()
        } catch let error as SMTPError {
            throw error
        } catch {
            throw .closed(stage: stage)
        }
    }

    /// Sends `command` and requires a positive reply (2xx or 3xx; `expecting` narrows it).
    @discardableResult
    func command(_ command: String, stage: String, expecting: Int? = nil) async throws(SMTPError) -> SMTPReply {
        let reply = try await exchange(command, stage: stage)
        guard expecting.map({ reply.code == $0 }) ?? reply.isPositive else {
            throw .refused(stage: stage, reply: reply)
        }
        return reply
    }

    /// Greeting, EHLO, STARTTLS, AUTH.
    func start(settings: SMTPSettings, tls: NIOSSLContext, serverName: String?) async throws(SMTPError) {
        let greeting = try await exchange(nil as String?, stage: "the greeting")
        guard greeting.code == 220 else { throw .refused(stage: "the greeting", reply: greeting) }
        var capabilities = try await hello(settings.heloName)
        if settings.security != .implicitTLS {
            if capabilities.contains("STARTTLS") {
                try await command("STARTTLS", stage: "STARTTLS", expecting: 220)
                try await secure(tls: tls, serverName: serverName)
                capabilities = try await hello(settings.heloName)
            } else if settings.security == .startTLS {
                throw .noStartTLS
            }
        }
        if let user = settings.user, let password = settings.password {
            try await authenticate(user: user, password: password, capabilities: capabilities)
        }
    }

    /// EHLO; the capabilities the server announces (upper-case keywords with their parameters).
    func hello(_ name: String) async throws(SMTPError) -> Set<String> {
        let reply = try await command("EHLO \(name)", stage: "EHLO", expecting: 250)
        var capabilities: Set<String> = []
        for line in reply.lines.dropFirst() {
            let words = line.uppercased().split(separator: " ")
            guard let keyword = words.first else { continue }
            capabilities.insert(String(keyword))
            for parameter in words.dropFirst() { capabilities.insert("\(keyword) \(parameter)") }
        }
        return capabilities
    }

    /// Puts TLS under the SMTP handlers, after a 220 to STARTTLS.
    func secure(tls: NIOSSLContext, serverName: String?) async throws(SMTPError) {
        let channel = channel
        do {
            try await channel.eventLoop.submit {
                let handler = try NIOSSLClientHandler(context: tls, serverHostname: serverName)
                try channel.pipeline.syncOperations.addHandler(handler, position: .first)
            }.get()
        } catch {
            throw .tls("\(error)")
        }
    }

    func authenticate(user: String, password: String, capabilities: Set<String>) async throws(SMTPError) {
        if capabilities.contains("AUTH PLAIN") {
            let token = Data(([0] + Array(user.utf8) + [0] + Array(password.utf8))).base64EncodedString()
            try await command("AUTH PLAIN \(token)", stage: "AUTH", expecting: 235)
        } else if capabilities.contains("AUTH LOGIN") {
            try await command("AUTH LOGIN", stage: "AUTH", expecting: 334)
            try await command(Data(user.utf8).base64EncodedString(), stage: "AUTH", expecting: 334)
            try await command(Data(password.utf8).base64EncodedString(), stage: "AUTH", expecting: 235)
        } else {
            throw .noAuthentication
        }
    }

    /// MAIL, RCPT for each recipient, DATA.
    func transaction(_ message: MailMessage) async throws(SMTPError) {
        try await command("MAIL FROM:<\(message.from.address)>", stage: "MAIL", expecting: 250)
        for recipient in message.to {
            try await command("RCPT TO:<\(recipient.address)>", stage: "RCPT", expecting: 250)
        }
        try await command("DATA", stage: "DATA", expecting: 354)
        let reply = try await exchange(Self.dotStuffed(message.rendered()), stage: "the message")
        guard reply.code == 250 else { throw .refused(stage: "the message", reply: reply) }
    }

    /// The message with every line that starts with a dot given another (RFC 5321 4.5.2), then the ending dot.
    static func dotStuffed(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 5)
        var lineStart = true
        for byte in bytes {
            if lineStart && byte == UInt8(ascii: ".") { out.append(byte) }
            out.append(byte)
            lineStart = byte == UInt8(ascii: "\n")
        }
        out += Array(".\r\n".utf8)
        return out
    }

    /// After a failed transaction: the connection, reset, when it still answers (the server refused one command);
    /// else nil, closed.
    func recovered(after error: SMTPError) async -> SMTPConnection? {
        guard case .refused = error, channel.isActive else {
            close()
            return nil
        }
        do {
            try await command("RSET", stage: "RSET", expecting: 250)
            return self
        } catch {
            close()
            return nil
        }
    }

    /// QUIT, then close (without waiting for the answer).
    func quit() {
        let channel = channel
        channel.writeAndFlush(ByteBuffer(string: "QUIT\r\n")).whenComplete { _ in channel.close(promise: nil) }
    }

    func close() { channel.close(promise: nil) }
}
