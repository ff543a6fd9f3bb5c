#if canImport(Glibc)
import Glibc
#endif

/// The Go client's process metrics, read from /proc at scrape time, so existing dashboards
/// (CPU, memory, open file descriptors) work for vitals unchanged.
public struct ProcessCollector: MetricCollector {
    private static let cpu = try! MetricDescriptor(name: "process_cpu_seconds_total", help: "Total user and system CPU time spent in seconds.", type: .counter)
    private static let rss = try! MetricDescriptor(name: "process_resident_memory_bytes", help: "Resident memory size in bytes.", type: .gauge)
    private static let virtual = try! MetricDescriptor(name: "process_virtual_memory_bytes", help: "Virtual memory size in bytes.", type: .gauge)
    private static let openFDs = try! MetricDescriptor(name: "process_open_fds", help: "Number of open file descriptors.", type: .gauge)
    private static let maxFDs = try! MetricDescriptor(name: "process_max_fds", help: "Maximum number of open file descriptors.", type: .gauge)
    private static let startTime = try! MetricDescriptor(
        name: "process_start_time_seconds", help: "Start time of the process since unix epoch in seconds.", type: .gauge)

    public var familyNames: Set<String>? { Self.names }
    private static let names = Set([cpu, rss, virtual, openFDs, maxFDs, startTime].map(\.name))

    private let procRoot: String
    private let clockTicks: Double
    private let pageSize: Double
    private let bootTime: Double?

    public init(procRoot: String = "/proc") {
        self.procRoot = procRoot
        self.clockTicks = Double(sysconf(Int32(_SC_CLK_TCK)))
        self.pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        self.bootTime = Self.readBootTime(procRoot: procRoot)
    }

    public func collect() -> [FamilySnapshot] {
        var builder = SnapshotBuilder()
        if let stat = Self.readStat(procRoot + "/self/stat") {
            builder.add(Self.cpu, value: (stat.utime + stat.stime) / clockTicks)
            builder.add(Self.rss, value: stat.rssPages * pageSize)
            builder.add(Self.virtual, value: stat.vsize)
            if let bootTime {
                builder.add(Self.startTime, value: bootTime + stat.startTicks / clockTicks)
            }
        }
        if let count = ProcFile.entryCount(of: procRoot + "/self/fd") {
            // The count includes the descriptor opendir(3) holds while it reads, as the Go
            // client's (which lists the directory through an open descriptor too) does.
            builder.add(Self.openFDs, value: Double(count))
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            builder.add(Self.maxFDs, value: Double(limit.rlim_cur))
        }
        return builder.build()
    }

    struct Stat: Equatable {
        var utime: Double
        var stime: Double
        var startTicks: Double
        var vsize: Double
        var rssPages: Double
    }

    static func readStat(_ path: String) -> Stat? {
        ProcFile.read(path).flatMap(parseStat)
    }

    /// `/proc/self/stat`'s fields after the command name, which is in parentheses and may hold spaces and `)`:
    /// field 3 (the state) is the first after the last `)`. Split on bytes, once a scrape: split by
    /// Character, the 300-byte line took about 25 µs.
    static func parseStat(_ text: String) -> Stat? {
        var text = text
        return text.withUTF8 { bytes -> Stat? in
            guard let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
            var utime, stime, startTicks, vsize, rss: Double?
            var number = 3
            var start = close + 1
            for end in close + 1...bytes.count where end == bytes.count || bytes[end] == UInt8(ascii: " ") {
                defer { start = end + 1 }
                guard end > start else { continue }
                let field = { Double(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)) }
                switch number {
                case 14: utime = field()
                case 15: stime = field()
                case 22: startTicks = field()
                case 23: vsize = field()
                case 24: rss = field()
                default: break
                }
                number += 1
                if number > 24 { break }
            }
            guard let utime, let stime, let startTicks, let vsize, let rss else { return nil }
            return Stat(utime: utime, stime: stime, startTicks: startTicks, vsize: vsize, rssPages: rss)
        }
    }

    static func readBootTime(procRoot: String) -> Double? {
        guard let text = ProcFile.read(procRoot + "/stat") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6).trimmingCharacters(in: .spaceAndTab))
        }
        return nil
    }
}

/// `vitals_build_info`: a constant 1 carrying the version, so dashboards can show what runs.
public struct BuildInfoCollector: MetricCollector {
    private static let descriptor = try! MetricDescriptor(
        name: "vitals_build_info", help: "A metric with a constant '1' value labeled by the version vitals was built from.", type: .gauge,
        labelNames: ["version", "swift_version"])

    public init() {}

    public var familyNames: Set<String>? { Self.names }
    private static let names: Set<String> = [descriptor.name]

    public func collect() -> [FamilySnapshot] {
        [FamilySnapshot(Self.descriptor, series: [.scalar(1, [VitalsVersion.version, VitalsVersion.swiftVersion])])]
    }
}

public enum VitalsVersion {
    public static let version = "0.1.0"
    public static var swiftVersion: String {
        #if compiler(>=6.3)
        "6.3"
        #elseif compiler(>=6.2)
        "6.2"
        #else
        "6"
        #endif
    }
}
