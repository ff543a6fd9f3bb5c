import Testing

@testable import Vitals

/// Which fast passes read pg_stat_statements (`--postgres.statements.interval`), and how the
/// interval is checked.
@Suite struct StatementsReadScheduleTests {
    enum Step {
        case pass(reads: Bool)
        case readOnNextPass
    }

    static func run(every: Int, _ steps: [Step]) {
        var schedule = StatementsReadSchedule(every: every)
        for (number, step) in steps.enumerated() {
            switch step {
            case .pass(let reads): #expect(schedule.isDue() == reads, "step \(number)")
            case .readOnNextPass: schedule.readOnNextPass()
            }
        }
    }

    @Test func everyPassByDefault() {
        Self.run(every: 1, Array(repeating: .pass(reads: true), count: 5))
        // Nothing below one: every pass.
        Self.run(every: 0, Array(repeating: .pass(reads: true), count: 3))
    }

    @Test func oneInEveryFromTheFirstPass() {
        Self.run(every: 4, [
            .pass(reads: true), .pass(reads: false), .pass(reads: false), .pass(reads: false),
            .pass(reads: true), .pass(reads: false), .pass(reads: false), .pass(reads: false),
            .pass(reads: true),
        ])
    }

    /// Down (or another server) between reads: the first pass after it reads, and the count starts there.
    @Test func aPassAfterTheTargetWasDownReads() {
        Self.run(every: 3, [
            .pass(reads: true), .pass(reads: false), .readOnNextPass,
            .pass(reads: true), .pass(reads: false), .pass(reads: false),
            .pass(reads: true), .readOnNextPass, .readOnNextPass,
            .pass(reads: true), .pass(reads: false),
        ])
    }

    static func configuration(_ settings: [String: String]) throws -> PostgresConfiguration {
        try PostgresConfiguration(values: ConfigurationValues.make(keys: PostgresConfiguration.keys, settings))
    }

    @Test(arguments: [
        ([:], 1),
        (["postgres.statements.interval": "15s"], 1),
        (["postgres.statements.interval": "60s"], 4),
        (["postgres.statements.interval": "1m", "postgres.interval": "10s"], 6),
        (["postgres.statements.interval": "1h"], 240),
    ] as [([String: String], Int)])
    func theIntervalIsCountedInFastPasses(settings: [String: String], passes: Int) throws {
        #expect(try Self.configuration(settings).statementsEveryPasses == passes)
    }

    @Test(arguments: [
        ["postgres.statements.interval": "50s"],
        ["postgres.statements.interval": "10s"],
        ["postgres.statements.interval": "0s"],
        ["postgres.statements.interval": "2h"],
        ["postgres.statements.interval": "45s", "postgres.interval": "20s"],
    ])
    func anIntervalThatIsNoMultipleIsRefused(settings: [String: String]) {
        #expect {
            try Self.configuration(settings)
        } throws: { error in
            let error = error as? ConfigurationError
            return error?.key == "postgres.statements.interval" && error?.description.contains("multiple of postgres.interval") == true
        }
    }
}
