import ArgumentParser
import BizRuntime
import BizServiceKit
import Foundation
import Logging

@main
struct BizRetail: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "biz-retail",
        abstract: "Biz Retail: the back-office platform (services, event pipeline, audit trail).",
        subcommands: [Serve.self, Config.self, Services.self, Certs.self, Events.self, Audit.self, Identity.self],
        defaultSubcommand: Serve.self
    )
}
