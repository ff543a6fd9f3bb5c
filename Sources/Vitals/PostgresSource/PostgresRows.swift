/// A query's result as plain Sendable values: libpq's `PGresult` is copied out and cleared at once.
///
/// Values are the text format Postgres sends; collectors read them by column name, so a column a
/// server version lacks simply reads as nil instead of shifting positions.
public struct PostgresRows: Sendable, Equatable {
    public let columns: [String]
    public let values: [[String?]]
    private let index: [String: Int]

    public init(columns: [String], values: [[String?]]) {
        self.columns = columns
        self.values = values
        var index: [String: Int] = [:]
        for (position, name) in columns.enumerated() where index[name] == nil { index[name] = position }
        self.index = index
    }

    /// Builds rows from dictionaries: test fixtures written as a server version's `SELECT *` output.
    public init(_ rows: [[String: String?]]) {
        var columns: [String] = []
        for row in rows {
            for key in row.keys.sorted() where !columns.contains(key) { columns.append(key) }
        }
        self.init(columns: columns, values: rows.map { row in columns.map { row[$0] ?? nil } })
    }

    public var count: Int { values.count }
    public var isEmpty: Bool { values.isEmpty }

    /// The same columns and values; the index follows from the columns, so hashing it again is not needed.
    public static func == (lhs: PostgresRows, rhs: PostgresRows) -> Bool {
        lhs.columns == rhs.columns && lhs.values == rhs.values
    }

    public func hasColumn(_ name: String) -> Bool { index[name] != nil }

    /// The position of a column, for a collector that reads it in every row: found once, where
    /// reading by name hashes the name in each row.
    public func position(of column: String) -> Int? { index[column] }

    public var rows: [PostgresRow] { values.indices.map { PostgresRow(rows: self, position: $0) } }

    public var first: PostgresRow? { values.isEmpty ? nil : PostgresRow(rows: self, position: 0) }

    fileprivate func value(_ position: Int, _ column: String) -> String? {
        guard let column = index[column] else { return nil }
        return values[position][column]
    }
}

public struct PostgresRow: Sendable {
    let rows: PostgresRows
    let position: Int

    public subscript(_ column: String) -> String? { rows.value(position, column) }

    public func hasColumn(_ column: String) -> Bool { rows.hasColumn(column) }

    /// The column at ``PostgresRows/position(of:)``; nil for a column the result lacks.
    public subscript(at position: Int?) -> String? { position.flatMap { rows.values[self.position][$0] } }

    /// A numeric column as a Double; Postgres booleans (`t`/`f`) read as 1 and 0.
    public func double(_ column: String) -> Double? { Self.number(self[column]) }

    /// ``double(_:)`` of the column at ``PostgresRows/position(of:)``.
    public func double(at position: Int?) -> Double? { Self.number(self[at: position]) }

    private static func number(_ text: String?) -> Double? {
        guard let text else { return nil }
        switch text {
        case "t", "true", "on": return 1
        case "f", "false", "off": return 0
        case "NaN": return .nan
        case "Infinity": return .infinity
        case "-Infinity": return -.infinity
        default: return Double(text)
        }
    }

    public func bool(_ column: String) -> Bool? { double(column).map { $0 != 0 } }
}
