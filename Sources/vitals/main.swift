#if canImport(Glibc)
import Glibc
#endif
import Vitals

ThreadBudget.applyDaemonDefaults()
// Not a top-level `await`: an async main ends the main thread in dispatch_main(), whose
// pthread_exit unwinds the main thread's stack through the binary's unwind tables and leaves
// about a MiB of them resident for the daemon's life (BENCHMARKS, "Cost to run"). The main
// thread parks here instead; the command runs detached from it and exits the process itself.
let arguments = Array(CommandLine.arguments.dropFirst())
Task.detached { exit(await CommandLineInterface.main(arguments: arguments)) }
while true { pause() }
