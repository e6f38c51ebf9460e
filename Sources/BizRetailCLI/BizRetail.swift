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

    /// ArgumentParser's, except for a `ValidationError` thrown by a command's `run()` (a setting read there, from the
    /// environment or the configuration file as well as the command line, found wrong): ArgumentParser would show
    /// the root command's usage under it; this shows the command's own, as for what parsing finds wrong.
    static func main() async {
        let command: any ParsableCommand
        do {
            command = try await asyncParseAsRoot()
        } catch {
            exit(withError: error)
        }
        do {
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                var command = command
                try command.run()
            }
        } catch let error as ValidationError {
            let type = Swift.type(of: command)
            let name = path(to: type).joined(separator: " ")
            FileHandle.standardError.write(
                Data(
                    """
                    Error: \(error.message)
                    Usage: \(usageString(for: type))
                      See '\(name) --help' for more information.

                    """.utf8))
            exit(withError: ExitCode.validationFailure)
        } catch {
            exit(withError: error)
        }
    }

    /// The names from the root command down to `command` (`biz-retail serve`); the root's alone when `command` is
    /// not one of its subcommands.
    static func path(to command: any ParsableCommand.Type) -> [String] {
        func search(_ type: any ParsableCommand.Type, _ names: [String]) -> [String]? {
            let names = names + [type._commandName]
            if type == command { return names }
            for subcommand in type.configuration.subcommands {
                if let found = search(subcommand, names) { return found }
            }
            return nil
        }
        return search(self, []) ?? [_commandName]
    }
}
