/// Runs `body` with a pointer to an array's elements: called as `withElements(&array) { p in ... }`,
/// Swift's inout-to-pointer conversion of the array, valid for the duration of the call.
/// Unlike `withUnsafeMutableBufferPointer`, whose `baseAddress` is nil for an empty array, the
/// pointer always exists, so the kernels' scratch arrays (empty when a gradient is not
/// needed) need no unwrap. As with the buffer form, `body` must not touch the array itself.
@inline(__always)
func withElements<T, R>(_ elements: UnsafeMutablePointer<T>, _ body: (UnsafeMutablePointer<T>) throws -> R) rethrows -> R {
    try body(elements)
}
