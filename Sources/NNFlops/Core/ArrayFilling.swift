extension Array {
    /// `count` copies of `value`, as `Array(repeating:count:)` makes them, for the small
    /// per-operator arrays of elaboration and the analyses. `Array(repeating:count:)`
    /// allocates through an unspecialised path that looks the storage class's metadata up
    /// at run time on every call (`getContiguousArrayStorageType`: about 600 instructions
    /// for `[Value?]`, `[Int?]`, `[DType?]`); appending into reserved capacity takes the
    /// specialised, cached one.
    init(filling value: Element, count: Int) {
        self.init()
        guard count > 0 else { return }
        reserveCapacity(count)
        for _ in 0..<count { append(value) }
    }
}
