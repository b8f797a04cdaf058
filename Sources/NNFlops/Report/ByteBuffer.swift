/// A growable run of bytes written through a pointer: the JSON writer's output buffer
/// (README, "Speed").
///
/// `[UInt8]`'s appends go through its generic, uniqueness-checked paths: about 200
/// instructions to copy a 20-byte key line into the output, and as many for a few digits;
/// a layer table's row made 14 of each. Here an append is a capacity check and a copy.
/// The buffer owns its memory and cannot be copied, so no two values share it.
struct ByteBuffer: ~Copyable {
    private var base: UnsafeMutablePointer<UInt8>
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int = 1 << 16) {
        self.capacity = max(capacity, 16)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    /// Makes room for `extra` more bytes.
    @inline(__always)
    mutating func reserve(_ extra: Int) {
        if capacity - count < extra { grow(toHold: count + extra) }
    }

    private mutating func grow(toHold needed: Int) {
        var newCapacity = capacity
        while newCapacity < needed { newCapacity *= 2 }
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.update(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        reserve(1)
        base[count] = byte
        count += 1
    }

    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        reserve(bytes.count)
        (base + count).update(from: source, count: bytes.count)
        count += bytes.count
    }

    mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { append($0) }
    }

    /// A string's UTF-8 bytes (contiguous for every native string; a bridged one is copied).
    mutating func append(utf8 string: String) {
        var string = string
        string.withUTF8 { append($0) }
    }

    /// A literal's bytes ("null", "true").
    mutating func append(_ literal: StaticString) {
        append(UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    mutating func append(repeating byte: UInt8, count repeats: Int) {
        guard repeats > 0 else { return }
        reserve(repeats)
        (base + count).initialize(repeating: byte, count: repeats)
        count += repeats
    }

    /// Bytes `range` of another buffer.
    mutating func append(_ range: Range<Int>, of other: borrowing ByteBuffer) {
        other.withBytes(in: range) { append($0) }
    }

    /// Writes `maximum` bytes or fewer in place: `body` fills the room it is given from
    /// its start and returns how many it wrote.
    mutating func write(atMost maximum: Int, _ body: (UnsafeMutableBufferPointer<UInt8>) -> Int) {
        reserve(maximum)
        let written = body(UnsafeMutableBufferPointer(start: base + count, count: maximum))
        precondition(written >= 0 && written <= maximum, "ByteBuffer.write: wrote outside the room given")
        count += written
    }

    /// Drops the bytes from `start` on.
    mutating func truncate(to start: Int) {
        precondition(start >= 0 && start <= count, "ByteBuffer.truncate: \(start) outside 0...\(count)")
        count = start
    }

    mutating func removeAll() { count = 0 }

    func withBytes<R>(in range: Range<Int>, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "ByteBuffer: range \(range) outside 0..<\(count)")
        return try body(UnsafeBufferPointer(start: base + range.lowerBound, count: range.count))
    }

    func withBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: base, count: count))
    }

    var string: String { withBytes { String(decoding: $0, as: UTF8.self) } }
}
