import Foundation
import NIOConcurrencyHelpers

/// A TCP listener on loopback that accepts connections and never answers: a hung server.
final class SilentListener: @unchecked Sendable {
    let port: Int
    private let socketDescriptor: Int32
    private final class Descriptors: Sendable {
        let list = NIOLockedValueBox<[Int32]>([])
    }
    private let descriptors = Descriptors()
    private let thread: Thread

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        port = TestEnvironment.boundPort(fd)
        guard port > 0, listen(fd, 16) == 0 else {
            close(fd)
            throw POSIXError(.EADDRINUSE)
        }
        socketDescriptor = fd
        let accepted = descriptors
        thread = Thread {
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 { return }  // the listening socket was closed
                accepted.list.withLockedValue { $0.append(client) }
            }
        }
        thread.start()
    }

    var acceptedCount: Int { descriptors.list.withLockedValue { $0.count } }

    /// Accepted connections the client has closed since (read returns 0): nothing was leaked.
    var closedByClient: Int {
        descriptors.list.withLockedValue { descriptors in
            descriptors.filter { fd in
                // Drain what the client sent (libpq's startup packet), then see whether it closed.
                var buffer = [UInt8](repeating: 0, count: 4096)
                while true {
                    let received = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
                    if received == 0 { return true }
                    if received < 0 { return false }
                }
            }.count
        }
    }

    deinit {
        shutdown(socketDescriptor, Int32(SHUT_RDWR))
        close(socketDescriptor)
        descriptors.list.withLockedValue { $0.forEach { close($0) } }
    }
}
