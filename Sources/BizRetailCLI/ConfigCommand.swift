import ArgumentParser
import BizRuntime
import BizServiceKit
import Foundation
import Logging

struct Config: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the effective configuration (options, environment, file and defaults); secrets redacted.")

    @OptionGroup var options: ConfigurationOptions

    func run() async throws {
        print(try await options.read().report(), terminator: "")
    }
}
