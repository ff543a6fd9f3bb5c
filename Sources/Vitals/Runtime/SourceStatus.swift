#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import NIOConcurrencyHelpers

/// The fixed set of reasons a source can fail with. Labels carry these, never error text.
public enum SourceErrorReason: String, Sendable, CaseIterable {
    case connect
    case timeout
    case auth
    case permission
    case query
    case parse
    case io
    case notFound = "not_found"
    case unsupported
    case config
    /// A TLS handshake or session failed (untrusted, expired or refused certificate).
    case tls
}

/// The health of one source instance, updated by the source, read by `/ready` and `/metrics`.
public final class SourceStatus: Sendable {
    public enum State: String, Sendable {
        /// Not yet collected once.
        case starting
        case up
        case down
    }

    public struct Snapshot: Sendable, Equatable {
        public var source: String
        public var instance: String?
        public var state: State
        /// A short, secret-free description of the last failure, for `/ready` and logs.
        public var lastError: String?
        public var lastErrorReason: SourceErrorReason?
        public var lastSuccess: Date?
        public var lastCollectDuration: Double?
        public var errors: [SourceErrorReason: UInt64]
    }

    public let source: String
    /// Which target (a DSN's host and database, a log glob) when a source runs several instances.
    public let instance: String?
    private let state: NIOLockedValueBox<Snapshot>

    public init(source: String, instance: String? = nil) {
        self.source = source
        self.instance = instance
        self.state = NIOLockedValueBox(Snapshot(source: source, instance: instance, state: .starting, errors: [:]))
    }

    public func recordSuccess(duration: Double) {
        state.withLockedValue {
            $0.state = .up
            $0.lastError = nil
            $0.lastErrorReason = nil
            $0.lastSuccess = Date()
            $0.lastCollectDuration = duration
        }
    }

    /// - Parameters:
    ///   - message: shown in `/ready`; must never contain secrets or user data.
    ///   - down: whether the source as a whole is now unusable (a collector failing inside a healthy
    ///     connection counts the error but leaves the source up).
    public func recordError(_ reason: SourceErrorReason, message: String, down: Bool = true, duration: Double? = nil) {
        state.withLockedValue {
            if down { $0.state = .down }
            $0.lastError = message
            $0.lastErrorReason = reason
            $0.errors[reason, default: 0] += 1
            if let duration { $0.lastCollectDuration = duration }
        }
    }

    /// Clears the last error without counting a collection, e.g. when a missing file appears.
    public func clearError() {
        state.withLockedValue {
            $0.lastError = nil
            $0.lastErrorReason = nil
        }
    }

    public func markUp() {
        state.withLockedValue { $0.state = .up }
    }

    public var snapshot: Snapshot { state.withLockedValue { $0 } }
}

/// All sources' statuses: exposed as `vitals_source_*` and summarised by `/ready`.
public final class SourceHealthBoard: MetricCollector {
    private let statuses = NIOLockedValueBox<[SourceStatus]>([])

    private static let upDescriptor = try! MetricDescriptor(
        name: "vitals_source_up", help: "Whether the source's last collection succeeded (1) or not (0).", type: .gauge, labelNames: ["source", "instance"])
    private static let durationDescriptor = try! MetricDescriptor(
        name: "vitals_source_collect_duration_seconds", help: "How long the source's last collection took.", type: .gauge,
        labelNames: ["source", "instance"])
    private static let errorsDescriptor = try! MetricDescriptor(
        name: "vitals_source_errors_total", help: "Errors met by the source, by a fixed set of reasons.", type: .counter,
        labelNames: ["source", "instance", "reason"])

    public init() {}

    public func makeStatus(source: String, instance: String? = nil) -> SourceStatus {
        let status = SourceStatus(source: source, instance: instance)
        statuses.withLockedValue { $0.append(status) }
        return status
    }

    public var all: [SourceStatus.Snapshot] { statuses.withLockedValue { $0 }.map(\.snapshot) }

    /// Ready when every source has collected successfully at least once and is not down now.
    public var isReady: Bool { all.allSatisfy { $0.state == .up } }

    public var familyNames: Set<String>? { Self.names }
    private static let names: Set<String> = [upDescriptor.name, durationDescriptor.name, errorsDescriptor.name]

    public func collect() -> [FamilySnapshot] {
        var up = FamilySnapshot(Self.upDescriptor)
        var duration = FamilySnapshot(Self.durationDescriptor)
        var errors = FamilySnapshot(Self.errorsDescriptor)
        for status in all {
            let labels = [status.source, status.instance ?? ""]
            up.series.append(.scalar(status.state == .up ? 1 : 0, labels))
            if let seconds = status.lastCollectDuration {
                duration.series.append(.scalar(seconds, labels))
            }
            // Every reason is present from the start so that rate() and increase() see the first error.
            for reason in SourceErrorReason.allCases {
                errors.series.append(.scalar(Double(status.errors[reason] ?? 0), labels + [reason.rawValue]))
            }
        }
        return [up, duration, errors]
    }
}
