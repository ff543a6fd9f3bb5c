import Testing

@testable import Vitals

/// Which other databases each slow pass visits: a table of passes, each with what it found.
@Suite struct DatabaseVisitScheduleTests {
    struct Pass {
        var listed: [String]
        var due: [String]
        /// What the visits of this pass found: user tables per database (nil: the visit failed).
        var found: [String: Int?] = [:]
    }

    static func run(_ passes: [Pass], every: Int = 3) {
        var schedule = DatabaseVisitSchedule(emptyRevisitEvery: every)
        for (number, pass) in passes.enumerated() {
            #expect(schedule.due(pass.listed) == pass.due, "pass \(number)")
            for (database, tables) in pass.found {
                if let tables { schedule.visited(database, userTables: tables) } else { schedule.failed(database) }
            }
        }
    }

    @Test func aDatabaseWithTablesIsVisitedEveryPass() {
        Self.run([
            Pass(listed: ["shop"], due: ["shop"], found: ["shop": 3]),
            Pass(listed: ["shop"], due: ["shop"], found: ["shop": 3]),
            Pass(listed: ["shop"], due: ["shop"], found: ["shop": 4]),
        ])
    }

    @Test func anEmptyDatabaseIsVisitedEveryNthPassUntilItHasTables() {
        Self.run([
            Pass(listed: ["postgres", "shop"], due: ["postgres", "shop"], found: ["postgres": 0, "shop": 1]),
            Pass(listed: ["postgres", "shop"], due: ["shop"], found: ["shop": 1]),
            Pass(listed: ["postgres", "shop"], due: ["shop"], found: ["shop": 1]),
            Pass(listed: ["postgres", "shop"], due: ["postgres", "shop"], found: ["postgres": 1, "shop": 1]),
            // A table was created there: every pass from now on.
            Pass(listed: ["postgres", "shop"], due: ["postgres", "shop"], found: ["postgres": 1, "shop": 1]),
        ])
    }

    @Test func aFailedVisitIsRetriedOnTheNextPass() {
        Self.run([
            Pass(listed: ["postgres"], due: ["postgres"], found: ["postgres": 0]),
            Pass(listed: ["postgres"], due: []),
            Pass(listed: ["postgres"], due: []),
            Pass(listed: ["postgres"], due: ["postgres"], found: ["postgres": nil]),
            Pass(listed: ["postgres"], due: ["postgres"], found: ["postgres": 0]),
            Pass(listed: ["postgres"], due: []),
        ])
    }

    @Test func aDatabaseThatLeavesTheListIsForgotten() {
        var schedule = DatabaseVisitSchedule(emptyRevisitEvery: 5)
        #expect(schedule.due(["old", "kept"]) == ["old", "kept"])
        schedule.visited("old", userTables: 0)
        schedule.visited("kept", userTables: 0)
        #expect(schedule.due(["kept"]) == [])
        // Dropped and created again (or filtered out and back by a reload): visited at once.
        #expect(schedule.due(["old", "kept"]) == ["old"])
    }

    @Test func everyPassVisitsEverythingWhenTheRevisitIntervalIsOne() {
        Self.run(
            [
                Pass(listed: ["postgres"], due: ["postgres"], found: ["postgres": 0]),
                Pass(listed: ["postgres"], due: ["postgres"], found: ["postgres": 0]),
            ], every: 1)
    }
}
