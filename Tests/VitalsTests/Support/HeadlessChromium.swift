import Foundation

/// Debian's `chromium`, headless, as the page's browser tests drive it: `--dump-dom` gives the
/// DOM after the page's script has run (for `virtualTime` of page time), and `--enable-logging`
/// puts every console message on stderr as `INFO:CONSOLE`.
enum HeadlessChromium {
    struct Page {
        var dom: String
        /// Console messages (errors included), as Chromium logged them.
        var console: [String]
    }

    static var executable: String? {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static let flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions", "--hide-scrollbars"]

    static func load(_ url: String, virtualTime: Duration = .seconds(6), in directory: String) async throws -> Page {
        guard let executable else { throw ChromiumMissing() }
        let profile = directory + "/chromium-profile-\(UUID().uuidString)"
        let child = try ChildProcess(
            "/bin/sh",
            [
                "-c", "exec \"$0\" \"$@\" 2>\"$CHROMIUM_STDERR\"", executable,
            ] + flags + [
                "--user-data-dir=" + profile, "--enable-logging=stderr", "--v=0",
                "--virtual-time-budget=\(virtualTime.components.seconds * 1000)", "--dump-dom", url,
            ], environment: ProcessInfo.processInfo.environment.merging(["CHROMIUM_STDERR": directory + "/chromium.stderr"]) { $1 })
        _ = await child.wait(timeout: .seconds(120))
        let stderr = (try? String(contentsOfFile: directory + "/chromium.stderr", encoding: .utf8)) ?? ""
        return Page(dom: child.output, console: stderr.split(separator: "\n").filter { $0.contains(":CONSOLE") }.map(String.init))
    }

    static func screenshot(_ url: String, to path: String, width: Int = 1200, height: Int = 1700, in directory: String) async throws {
        guard let executable else { throw ChromiumMissing() }
        let child = try ChildProcess(
            executable,
            flags + [
                "--user-data-dir=" + directory + "/chromium-profile-\(UUID().uuidString)", "--window-size=\(width),\(height)",
                "--virtual-time-budget=3000", "--screenshot=" + path, url,
            ])
        _ = await child.wait(timeout: .seconds(120))
    }

    struct ChromiumMissing: Error, CustomStringConvertible {
        var description: String { "chromium is not installed: bash scripts/install-deps.sh --tests" }
    }
}
