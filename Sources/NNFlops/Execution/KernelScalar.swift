#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The scalar type kernels compute in: `Float` for real runs (the executor's float32),
/// `Double` for the finite-difference gradient checks (float64 reference arithmetic).
///
/// Kernels are written once, generic over `T: KernelScalar`, and annotated with
/// `@_specialize(where T == Float)` / `@_specialize(where T == Double)` so that calls
/// through `any ExecutableOperator` land in fully specialised (vectorisable) code.
/// Transcendentals are static functions here; each counts as one FLOP (design §4).
/// `Codable` is stated because `SIMDScalar`'s storage types require it of `Self`; left
/// implicit, the compiler warns that the protocol should declare the refinement.
protocol KernelScalar: BinaryFloatingPoint, SIMDScalar, Codable, Sendable {
    static func exp(_ x: Self) -> Self
    static func log(_ x: Self) -> Self
    static func erf(_ x: Self) -> Self
    static func tanh(_ x: Self) -> Self
    static func sqrt(_ x: Self) -> Self
    static func pow(_ x: Self, _ y: Self) -> Self
}

extension Float: KernelScalar {
    @inline(__always) public static func exp(_ x: Float) -> Float { expf(x) }
    @inline(__always) public static func log(_ x: Float) -> Float { logf(x) }
    @inline(__always) public static func erf(_ x: Float) -> Float { erff(x) }
    @inline(__always) public static func tanh(_ x: Float) -> Float { tanhf(x) }
    @inline(__always) public static func sqrt(_ x: Float) -> Float { x.squareRoot() }
    @inline(__always) public static func pow(_ x: Float, _ y: Float) -> Float { powf(x, y) }
}

extension Double: KernelScalar {
    @inline(__always) public static func exp(_ x: Double) -> Double { Glibc.exp(x) }
    @inline(__always) public static func log(_ x: Double) -> Double { Glibc.log(x) }
    @inline(__always) public static func erf(_ x: Double) -> Double { Glibc.erf(x) }
    @inline(__always) public static func tanh(_ x: Double) -> Double { Glibc.tanh(x) }
    @inline(__always) public static func sqrt(_ x: Double) -> Double { x.squareRoot() }
    @inline(__always) public static func pow(_ x: Double, _ y: Double) -> Double { Glibc.pow(x, y) }
}
