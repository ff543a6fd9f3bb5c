import NIOCore
import Testing

@testable import Vitals
import NIOConcurrencyHelpers

@Suite struct ConnectionTableTests {
    @Test func aFullTableClosesTheLongestIdleConnectionAndRefusesWhenAllAreBusy() throws {
        let table = ConnectionTable(limit: 2)
        let closed = NIOLockedValueBox<[String]>([])
        func admit(_ name: String, at second: Int64) -> ConnectionTable.Admission {
            table.admit(close: { closed.withLockedValue { $0.append(name) } }, now: .uptimeNanoseconds(UInt64(second) * 1_000_000_000))
        }
        guard case .admitted(let first, nil) = admit("first", at: 1), case .admitted(let second, nil) = admit("second", at: 2) else {
            Issue.record("the first two connections must be admitted")
            return
        }
        // The first has a request in progress: the second, idle, is the one to go.
        table.mark(first, busy: true)
        guard case .admitted(let third, .some(second)) = admit("third", at: 3) else {
            Issue.record("the third connection must evict the idle one")
            return
        }
        #expect(closed.withLockedValue { $0 } == ["second"])
        #expect(table.count == 2)
        table.release(second)  // its close arrives later: no double count
        #expect(table.count == 2)
        table.mark(third, busy: true)
        guard case .refused = admit("fourth", at: 4) else {
            Issue.record("every connection busy: the new one is refused")
            return
        }
        table.mark(first, busy: false, now: .uptimeNanoseconds(5_000_000_000))
        guard case .admitted(_, .some(first)) = admit("fifth", at: 6) else {
            Issue.record("an idle connection again: admitted, the idle one closed")
            return
        }
        #expect(closed.withLockedValue { $0 } == ["second", "first"])
    }

    @Test func limitsComeFromFlagsWithAutomaticConnectionCap() throws {
        let loader = ConfigurationLoader(keys: VitalsConfiguration.allKeys)
        let values = try loader.load(flags: [("web.idle-timeout", "3s")], environment: [:], file: nil)
        let limits = try ListenerLimits(values: values, descriptorLimit: 1024)
        #expect(limits.maxConnections == 512)
        #expect(limits.idleTimeout == .seconds(3))
        #expect(limits.headerTimeout == .seconds(10))
        #expect(try ListenerLimits(values: values, descriptorLimit: 200).maxConnections == 100)
        #expect(try ListenerLimits(values: values, descriptorLimit: 1 << 20).maxConnections == 512)
        let explicit = try loader.load(flags: [("web.max-connections", "7")], environment: [:], file: nil)
        #expect(try ListenerLimits(values: explicit, descriptorLimit: 1024).maxConnections == 7)
        let zero = try loader.load(flags: [("web.header-timeout", "0s")], environment: [:], file: nil)
        #expect(throws: ConfigurationError.self) { try ListenerLimits(values: zero, descriptorLimit: 1024) }
    }
}
