import HummingbirdCore
import HummingbirdHTTP2
import Logging
import NIOCore
import NIOSSL
import NIOTLS

/// The gateway's TLS channel with a deadline on the handshake: a connection that has not completed its TLS handshake
/// within `timeout` (a silent or trickling client, a half-open socket) is closed, so it cannot hold a connection slot
/// for ever. Once the handshake is done, the HTTP/1.1 and HTTP/2 idle timeouts take over.
struct HandshakeDeadlineChannel: HTTPChannelHandler {
    typealias Value = HTTP2UpgradeChannel.Value
    let base: HTTP2UpgradeChannel
    let timeout: TimeAmount

    var responder: HTTPChannelHandler.Responder { base.responder }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            let tls = try pipeline.handler(type: NIOSSLServerHandler.self)
            try pipeline.addHandler(HandshakeDeadlineHandler(timeout: timeout, logger: logger), position: .after(tls))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// Closes the channel unless the TLS handler before it reports a completed handshake within `timeout`.
final class HandshakeDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    let timeout: TimeAmount
    let logger: Logger
    private var deadline: Scheduled<Void>?

    init(timeout: TimeAmount, logger: Logger) {
        self.timeout = timeout
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        let logger = logger
        deadline = context.eventLoop.scheduleTask(in: timeout) {
            logger.debug("TLS handshake not completed in time; connection closed")
            channel.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent {
            deadline?.cancel()
            deadline = nil
        }
        context.fireUserInboundEventTriggered(event)
    }
}
