#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Vitals

ThreadBudget.applyDaemonDefaults()
exit(await CommandLineInterface.main(arguments: Array(CommandLine.arguments.dropFirst())))
