#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Hummingbird
import Logging

/// The `vitals` command line, in the Prometheus exporters' style (`--web.listen-address`, `--log.level`).
///
/// Subcommands: `serve` (the default), `replay FILE...`, `report FILE...`, `check-config`; and
/// `--version`, `--help`.
/// A bad flag or key is one line naming it, and exit status 2.
public enum CommandLineInterface {
    public enum Command: String, Sendable {
        case serve
        case replay
        case report
        case checkConfig = "check-config"
        case version
        case help
    }

    public struct Invocation: Sendable {
        public var command: Command
        public var flags: [(String, String)]
        public var configFile: String?
        public var arguments: [String]
    }

    public static func parse(_ arguments: [String], keys: [ConfigurationKey]) throws(ConfigurationError) -> Invocation {
        let byName = Dictionary(keys.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var invocation = Invocation(command: .serve, flags: [], configFile: nil, arguments: [])
        var remaining = arguments[...]
        if let first = remaining.first, !first.hasPrefix("-") {
            guard let command = Command(rawValue: first), command != .version, command != .help else {
                throw ConfigurationError(.unknownKey, key: first, "unknown command (expected serve, replay, report or check-config)")
            }
            invocation.command = command
            remaining = remaining.dropFirst()
        }
        while let argument = remaining.popFirst() {
            if argument == "--" {
                invocation.arguments += remaining
                break
            }
            guard argument.hasPrefix("-"), argument != "-" else {
                invocation.arguments.append(argument)
                continue
            }
            switch argument {
            case "--version": invocation.command = .version; continue
            case "--help", "-h": invocation.command = .help; continue
            default: break
            }
            var name = String(argument.drop { $0 == "-" })
            var value: String?
            if let equals = name.firstIndex(of: "=") {
                value = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            if name == "config.file" {
                guard let path = value ?? remaining.popFirst() else {
                    throw ConfigurationError(.missingValue, key: "config.file", "needs a value")
                }
                invocation.configFile = path
                continue
            }
            if byName[name] == nil, name.hasPrefix("no-"), byName[String(name.dropFirst(3))]?.kind == .bool, value == nil {
                invocation.flags.append((String(name.dropFirst(3)), "false"))
                continue
            }
            guard let key = byName[name] else {
                // Let the loader produce the message, with its suggestion.
                _ = try ConfigurationLoader(keys: keys).load(flags: [(name, value ?? "")], environment: [:], file: nil)
                continue
            }
            if key.kind == .bool, value == nil {
                invocation.flags.append((name, "true"))
                continue
            }
            guard let given = value ?? remaining.popFirst() else {
                throw ConfigurationError(.missingValue, key: name, "needs a value")
            }
            invocation.flags.append((name, given))
        }
        if invocation.command != .replay, invocation.command != .report, let stray = invocation.arguments.first {
            throw ConfigurationError(.unknownKey, key: stray, "unexpected argument")
        }
        return invocation
    }

    /// Loads flags, environment and the config file into validated settings.
    public static func resolve(_ invocation: Invocation, keys: [ConfigurationKey], environment: [String: String]) throws(ConfigurationError) -> ConfigurationValues {
        var file: (String, String)?
        if let path = invocation.configFile {
            guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
                throw ConfigurationError(.unreadableFile, key: "config.file", "cannot read '\(path)'")
            }
            file = (path, text)
        }
        return try ConfigurationLoader(keys: keys).load(flags: invocation.flags, environment: environment, file: file)
    }

    /// Runs the command and returns the process exit status.
    public static func main(arguments: [String], environment: [String: String] = ProcessInfo.processInfo.environment) async -> Int32 {
        let keys = VitalsConfiguration.allKeys
        let invocation: Invocation
        let configuration: VitalsConfiguration
        do {
            invocation = try parse(arguments, keys: keys)
            if invocation.command == .version {
                print("vitals \(VitalsVersion.version)")
                return 0
            }
            if invocation.command == .help {
                print(usage(keys: keys))
                return 0
            }
            if invocation.command == .serve {
                // Before anything opens a descriptor or sizes the listener from the limit.
                DescriptorLimit.raiseToHardLimit()
            }
            let values = try resolve(invocation, keys: keys, environment: environment)
            configuration = try VitalsConfiguration(values: values)
            // The certificate, key and client CA are loaded and the TLS context is built, as at start.
            _ = try WebState(configuration: configuration.web, path: nil)
            // Source settings are validated here too, so `check-config` and start-up fail the same way.
            for factory in SourceCatalog.factories {
                try factory.validate(values: values)
            }
        } catch let error as ConfigurationError {
            printError("vitals: \(error)")
            return 2
        } catch {
            printError("vitals: \(error)")
            return 2
        }

        switch invocation.command {
        case .checkConfig:
            print("configuration OK")
            for entry in configuration.values.describe() where entry.origin != .default {
                print("  \(entry.key) = \(entry.value)  (\(entry.origin.rawValue))")
            }
            return 0
        case .replay:
            do {
                let output = try TimingLogReplay.run(files: invocation.arguments, values: configuration.values)
                return writeAll(output, to: STDOUT_FILENO) ? 0 : 1
            } catch let error as ConfigurationError {
                printError("vitals: replay: \(error)")
                return 2
            } catch {
                printError("vitals: replay: \(error)")
                return 1
            }
        case .report:
            do {
                let output = try FindingsReport.run(files: invocation.arguments, values: configuration.values)
                return writeAll(Array(output.utf8), to: STDOUT_FILENO) ? 0 : 1
            } catch let error as ConfigurationError {
                printError("vitals: report: \(error)")
                return 2
            } catch {
                printError("vitals: report: \(error)")
                return 1
            }
        case .serve:
            // A closed stderr or stdout (a log reader that died, `| head`) must not kill the daemon
            // with SIGPIPE: writes then fail with EPIPE and the log line is dropped and counted.
            // NIO ignores SIGPIPE too, but only once it opens its first socket, after the first log lines.
            signal(SIGPIPE, SIG_IGN)
            let logger = makeLogger(configuration: configuration)
            do {
                let app = try buildApplication(configuration: configuration, logger: logger)
                try await app.runService()
                return 0
            } catch {
                logger.error("vitals stopped", metadata: ["error": "\(error)"])
                return 1
            }
        case .version, .help:
            return 0
        }
    }

    static func usage(keys: [ConfigurationKey]) -> String {
        var text = """
            usage: vitals [serve] [flags]
                   vitals replay [flags] [FILE...]
                   vitals report [flags] [TIMING-LOG...] [--slow-query.log-path=POSTGRES-LOG]
                   vitals check-config --config.file FILE [flags]
                   vitals --version

            Every flag can also be set in the YAML file given with --config.file
            (nested `web: {listen-address: ...}` or dotted `web.listen-address: ...`); flags win.

            flags:
              --config.file=FILE  YAML configuration file.

            """
        for key in keys {
            var line = "  --\(key.name)"
            switch key.kind {
            case .bool: line += " / --no-\(key.name)"
            case .strings: line += "=VALUE (repeatable)"
            case .inputs: line = "  \(key.name): (config file only)"
            default: line += "=VALUE"
            }
            text += line + "\n      " + key.help
            if let value = key.defaultValue, !key.isSecret { text += " (default: \(value))" }
            if !key.environment.isEmpty { text += " [env: \(key.environment.joined(separator: ", "))]" }
            text += "\n"
        }
        return text
    }

    static func printError(_ message: String) {
        _ = writeAll(Array((message + "\n").utf8), to: STDERR_FILENO)
    }

    static func writeAll(_ bytes: [UInt8], to descriptor: Int32) -> Bool {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += written
            }
            return true
        }
    }
}
