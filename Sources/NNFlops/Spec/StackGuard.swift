#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The elaborator recurses as deep as a spec nests: expressions (at most `Limits.nesting`
/// levels) inside block calls (at most `Limits.callDepth`). In a debug build a level can
/// take kilobytes of stack, more than a caller's thread may have (8 MiB on a main thread,
/// 512 KiB on some secondary threads), so elaboration runs on a thread of its own with a
/// large stack, and checks the room left before each level: a spec that would exhaust
/// it fails with an error instead of crashing.
struct StackGuard: Sendable {
    /// The stack of an elaboration thread. Reserved, not committed: only the pages the
    /// recursion touches take memory.
    static let stackBytes = 256 << 20
    /// Room kept free below the lowest level: what one level's non-recursive work may use.
    static let reserveBytes = 4 << 20

    /// The lowest stack address a level may start at; 0: unchecked.
    let floor: UInt

    static let unchecked = StackGuard(floor: 0)

    /// Whether the current stack position is above the floor.
    @inline(__always) func hasRoom() -> Bool {
        var marker: UInt8 = 0
        return withUnsafeMutablePointer(to: &marker) { UInt(bitPattern: $0) } > floor
    }

    /// Runs `body` on a new thread with a `stackBytes` stack, handing it the guard for
    /// that stack, and waits for it. Where no thread can be made, `body` runs here,
    /// unchecked.
    static func run<T>(_ body: (StackGuard) throws -> T) throws -> T {
        try withoutActuallyEscaping(body) { body in
            let job = Job(body: body)
            let context = Unmanaged.passRetained(job).toOpaque()
            var attributes = pthread_attr_t()
            pthread_attr_init(&attributes)
            defer { pthread_attr_destroy(&attributes) }
            guard pthread_attr_setstacksize(&attributes, stackBytes) == 0 else {
                Unmanaged<Job<T>>.fromOpaque(context).release()
                return try body(.unchecked)
            }
            let entry: @convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? = { context in
                guard let context else { return nil }  // pthread_create hands back the context given to it
                let job = Unmanaged<AnyJob>.fromOpaque(context).takeRetainedValue()
                job.start()
                return nil
            }
            #if canImport(Darwin)
            var thread: pthread_t?
            #else
            var thread = pthread_t()
            #endif
            guard pthread_create(&thread, &attributes, entry, context) == 0 else {
                Unmanaged<Job<T>>.fromOpaque(context).release()
                return try body(.unchecked)
            }
            #if canImport(Darwin)
            if let thread { pthread_join(thread, nil) }
            #else
            pthread_join(thread, nil)
            #endif
            // The joined thread ran the job, which always sets its value or its failure.
            if let failure = job.failure { throw failure }
            guard let value = job.value else { return try body(.unchecked) }
            return value
        }
    }

    /// The work handed to the thread; type-erased so the C entry point is not generic.
    class AnyJob: @unchecked Sendable {
        func start() {}
    }

    final class Job<T>: AnyJob, @unchecked Sendable {
        let body: (StackGuard) throws -> T
        // Two optionals, not a `Result<T, any Error>`: that type's metadata, built on
        // first use, checks `any Error: Error` against every protocol conformance record
        // in the binary (210k instructions at start-up; README, "Speed").
        var value: T?
        var failure: (any Error)?

        init(body: @escaping (StackGuard) throws -> T) { self.body = body }

        override func start() {
            var marker: UInt8 = 0
            let top = withUnsafeMutablePointer(to: &marker) { UInt(bitPattern: $0) }
            let floor = top - UInt(StackGuard.stackBytes) + UInt(StackGuard.reserveBytes)
            do {
                value = try body(StackGuard(floor: floor))
            } catch {
                failure = error
            }
        }
    }
}
