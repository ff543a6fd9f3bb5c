import Foundation
import Vitals

exit(await CommandLineInterface.main(arguments: Array(CommandLine.arguments.dropFirst())))
