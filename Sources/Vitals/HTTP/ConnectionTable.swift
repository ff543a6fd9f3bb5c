import NIOConcurrencyHelpers
import NIOCore

/// The listener's open connections, shared by every event loop: admission against
/// ``ListenerLimits/maxConnections`` and the choice of which connection to shed under overload.
///
/// A full table does not turn a scrape away while idle connections hold every slot: a new
/// connection closes the connection that has been idle longest (no request in progress), so
/// 2,000 idle keep-alive connections cost at most `maxConnections` descriptors and Prometheus
/// still gets in. Only when every connection is busy with a request is the new one closed at once.
final class ConnectionTable: Sendable {
    enum Admission {
        /// `evicted`: the connection closed to make room, if any.
        case admitted(id: UInt64, evicted: UInt64?)
        case refused
    }

    private struct Entry {
        /// Closes the connection; a channel's close is safe from any thread.
        let close: @Sendable () -> Void
        var busy: Bool
        var idleSince: NIODeadline
    }

    private struct State {
        var entries: [UInt64: Entry] = [:]
        var nextID: UInt64 = 0
    }

    let limit: Int
    private let state = NIOLockedValueBox(State())
    private let metrics: ListenerMetrics?

    init(limit: Int, metrics: ListenerMetrics? = nil) {
        self.limit = limit
        self.metrics = metrics
    }

    var count: Int { state.withLockedValue { $0.entries.count } }

    func admit(_ channel: any Channel) -> Admission {
        admit(close: { channel.close(promise: nil) })
    }

    func admit(close: @escaping @Sendable () -> Void, now: NIODeadline = .now()) -> Admission {
        let (admission, evictedClose): (Admission, (@Sendable () -> Void)?) = state.withLockedValue { state in
            var evicted: (id: UInt64, close: @Sendable () -> Void)?
            if state.entries.count >= limit {
                let idlest = state.entries.filter { !$0.value.busy }.min { $0.value.idleSince < $1.value.idleSince }
                guard let idlest else { return (.refused, nil) }
                state.entries.removeValue(forKey: idlest.key)
                evicted = (idlest.key, idlest.value.close)
            }
            state.nextID += 1
            state.entries[state.nextID] = Entry(close: close, busy: false, idleSince: now)
            metrics?.open(state.entries.count)  // under the lock, so the gauge never goes back in time
            return (.admitted(id: state.nextID, evicted: evicted?.id), evicted?.close)
        }
        switch admission {
        case .refused: metrics?.closed(.limit)
        case .admitted(_, .some):
            metrics?.closed(.evicted)
            evictedClose?()  // outside the lock: closing runs channel code
        case .admitted: break
        }
        return admission
    }

    /// A connection closed (an evicted one was removed already; removing it again is harmless).
    func release(_ id: UInt64) {
        state.withLockedValue { state in
            if state.entries.removeValue(forKey: id) != nil { metrics?.open(state.entries.count) }
        }
    }

    /// A request started (busy) or its response ended (idle from now).
    func mark(_ id: UInt64, busy: Bool, now: NIODeadline = .now()) {
        state.withLockedValue { state in
            state.entries[id]?.busy = busy
            if !busy { state.entries[id]?.idleSince = now }
        }
    }
}

/// The listener's own series: open connections and why the listener closed one.
struct ListenerMetrics: Sendable {
    enum CloseReason: String, CaseIterable {
        case limit, evicted
        case handshakeTimeout = "tls_handshake_timeout"
        case headerTimeout = "header_timeout"
        case responseTimeout = "response_timeout"
        case bodyTooLarge = "body_too_large"
    }

    private let connections: GaugeFamily
    private let closes: CounterFamily

    init(registry: MetricRegistry) throws {
        connections = try registry.gauge("vitals_http_connections", help: "Connections open on the HTTP listener.")
        closes = try registry.counter(
            "vitals_http_connections_closed_total", help: "Connections the HTTP listener closed itself, by reason.", labels: ["reason"])
        connections.set(to: 0)
        for reason in CloseReason.allCases { closes.initialize([reason.rawValue]) }
    }

    func open(_ count: Int) { connections.set(to: Double(count)) }
    func closed(_ reason: CloseReason) { closes.increment([reason.rawValue]) }
}
