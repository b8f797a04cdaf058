@testable import NNFlops

/// Conformance cases of the CNN-side and element-wise kernels added with the layout and
/// in-place rules (analytic == executed per phase, gradients against central finite
/// differences, and through ExecutorMemoryTests saved bytes and peak against the memory
/// model): copies of strided views, in-place operators, and the element-wise math family.
extension ExecutorTests {
    static let cnnCases: [KernelCase] = [
        // contiguous: a copy of a transposed view, and the input itself when contiguous.
        KernelCase("contiguous", "[2, 3, 5]", "y = linear(x, 4)\nz = contiguous(transpose(y, 0, 2))\noutput linear(z, 3)"),
        KernelCase("contiguous", "[2, 3]", "y = linear(x, 4)\noutput linear(contiguous(y), 3)"),
        // reshape and flatten of a strided view that cannot be viewed: copies.
        KernelCase("reshape", "[2, 3, 5]", "y = linear(x, 4)\nz = reshape(transpose(y, 1, 2), [2, 12])\noutput linear(z, 3)"),
        KernelCase("flatten", "[2, 3, 5]", "y = linear(x, 4)\nz = flatten(transpose(y, 0, 1), start = 1)\noutput linear(z, 3)"),
    ]
}
