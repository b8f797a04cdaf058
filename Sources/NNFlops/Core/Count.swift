/// An exact non-negative 64-bit count (FLOPs, MACs, elements, bytes) that remembers
/// whether any step of its computation overflowed, instead of trapping.
///
/// Operator cost formulas are written with `Count` so that an absurd shape yields a
/// clear error ("FLOP count overflows 64 bits") rather than a crash or a wrapped number.
public struct Count: Sendable, Hashable, Comparable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    public private(set) var value: Int
    public private(set) var overflowed: Bool

    public init(_ value: Int) {
        self.value = value
        self.overflowed = false
    }

    public init(integerLiteral value: Int) { self.init(value) }

    private init(value: Int, overflowed: Bool) {
        self.value = value
        self.overflowed = overflowed
    }

    public static let zero = Count(0)

    public static func + (a: Count, b: Count) -> Count {
        let (r, o) = a.value.addingReportingOverflow(b.value)
        return Count(value: o ? Int.max : r, overflowed: a.overflowed || b.overflowed || o)
    }

    public static func - (a: Count, b: Count) -> Count {
        let (r, o) = a.value.subtractingReportingOverflow(b.value)
        return Count(value: o ? Int.max : r, overflowed: a.overflowed || b.overflowed || o)
    }

    public static func * (a: Count, b: Count) -> Count {
        let (r, o) = a.value.multipliedReportingOverflow(by: b.value)
        return Count(value: o ? Int.max : r, overflowed: a.overflowed || b.overflowed || o)
    }

    public static func + (a: Count, b: Int) -> Count { a + Count(b) }
    public static func + (a: Int, b: Count) -> Count { Count(a) + b }
    public static func - (a: Count, b: Int) -> Count { a - Count(b) }
    public static func * (a: Count, b: Int) -> Count { a * Count(b) }
    public static func * (a: Int, b: Count) -> Count { Count(a) * b }
    public static func += (a: inout Count, b: Count) { a = a + b }
    public static func += (a: inout Count, b: Int) { a = a + Count(b) }

    public static func < (a: Count, b: Count) -> Bool { a.value < b.value }

    public var description: String { overflowed ? "overflow" : String(value) }

    /// Product of a list of dimensions.
    public static func product(_ values: some Sequence<Int>) -> Count {
        values.reduce(Count(1)) { $0 * $1 }
    }

    /// Sum of a list of counts.
    public static func sum(_ values: some Sequence<Count>) -> Count {
        values.reduce(Count.zero, +)
    }
}
