import ArgumentParser
import BizRuntime
import BizServiceKit
import Foundation
import Logging

struct Services: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the services `biz-retail serve <service>` runs, one per line.")

    func run() throws {
        for name in ServiceRegistry.servable { print(name) }
    }
}
