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
        // In-place add (torchvision's `out += identity`), with a tensor, a broadcast tensor
        // and a number, and read again afterwards (the kernel then cannot overwrite).
        KernelCase("add", "[2, 3, 4, 4]", "y = conv2d(x, 3, kernel = 1)\nz = conv2d(x, 3, kernel = 1)\ny = add(y, z, inplace = true)\noutput relu(y, inplace = true)"),
        KernelCase("add", "[2, 3, 4]", "y = linear(x, 4)\nz = linear(x, 1)\nw = add(y, z, inplace = true)\noutput linear(w, 2) + linear(y, 2)"),
        KernelCase("add", "[2, 3]", "y = linear(x, 4)\ny = add(y, 1.5, inplace = true)\noutput linear(y, 2)"),
        // Stochastic depth per sample and per batch, and p = 0 (the input itself).
        KernelCase("drop_path", "[3, 2, 3, 3]", "y = conv2d(x, 4, kernel = 1)\noutput drop_path(y, 0.4) + y"),
        KernelCase("drop_path", "[4, 5]", "y = linear(x, 6)\noutput linear(drop_path(y, 0.3, mode = \"batch\"), 2)"),
        KernelCase("drop_path", "[2, 5]", "y = linear(x, 3)\noutput drop_path(y, 0.0) * y"),
        KernelCase("drop_path", "[2, 5]", "y = linear(x, 3)\noutput drop_path(y, 1.0) + y"),
        // The element-wise math family (positive inputs where the domain needs them).
        KernelCase("exp", "[3, 5]", "y = linear(x, 4)\noutput exp(y)"),
        KernelCase("log", "[3, 5]", "y = sigmoid(linear(x, 4)) + 0.5\noutput log(y)"),
        KernelCase("sqrt", "[3, 5]", "y = sigmoid(linear(x, 4)) + 0.5\noutput sqrt(y)"),
        KernelCase("rsqrt", "[3, 5]", "y = sigmoid(linear(x, 4)) + 0.5\noutput rsqrt(y)"),
        KernelCase("abs", "[3, 5]", "y = linear(x, 7)\noutput abs(y)"),
        KernelCase("neg", "[3, 5]", "y = linear(x, 4)\noutput linear(neg(y), 2)"),
        KernelCase("reciprocal", "[3, 5]", "y = sigmoid(linear(x, 4)) + 0.5\noutput reciprocal(y)"),
        KernelCase("erf", "[3, 5]", "y = linear(x, 4)\noutput erf(y)"),
        // pow: every special case of torch's kernel, a general exponent, and tensor ** tensor
        // (same shape, and a broadcast exponent that needs its gradient).
        KernelCase("pow", "[3, 5]", "y = linear(x, 4)\noutput pow(y, 2) + pow(y, 3) + pow(y, 0) + pow(y, 1) + pow(y, 4)"),
        KernelCase("pow", "[3, 5]", "y = sigmoid(linear(x, 4)) + 0.5\noutput pow(y, 0.5) + pow(y, -0.5) + pow(y, -1) + pow(y, -2) + pow(y, 2.5)"),
        KernelCase("pow", "[2, 3, 4]", "y = sigmoid(linear(x, 4)) + 0.5\ne = linear(x, 4)\noutput pow(y, e)"),
        KernelCase("pow", "[2, 3, 4]", "y = sigmoid(linear(x, 4)) + 0.5\ne = linear(x, 1)\noutput pow(y, e)"),
        // roll along dimensions (repeated, negative) and flattened.
        KernelCase("roll", "[2, 3, 4, 5]", "y = conv2d(x, 3, kernel = 1)\noutput roll(y, [1, -2], dims = [2, 3]) * y"),
        KernelCase("roll", "[2, 3, 5]", "y = linear(x, 4)\noutput linear(roll(y, [3, 2], dims = [-1, -1]), 2)"),
        KernelCase("roll", "[2, 7]", "y = linear(x, 3)\noutput roll(y, 4) * y"),
        // pad in each mode, one to three dimensions.
        KernelCase("pad", "[2, 3, 4, 5]", "y = conv2d(x, 2, kernel = 1)\noutput pad(y, [1, 2, 0, 3], value = 0.5)"),
        KernelCase("pad", "[2, 3, 4, 5]", "y = conv2d(x, 2, kernel = 1)\noutput pad(y, [2, 1, 3, 1], mode = \"reflect\")"),
        KernelCase("pad", "[2, 3, 4, 5]", "y = conv2d(x, 2, kernel = 1)\noutput pad(y, [1, 3, 2, 2], mode = \"replicate\")"),
        KernelCase("pad", "[2, 3, 6]", "y = linear(x, 5)\noutput pad(y, [2, 1], mode = \"reflect\") * 2"),
        KernelCase("pad", "[2, 3, 5]", "y = linear(x, 4)\noutput linear(pad(y, [1, 0, 1, 1, 0, 2]), 2)"),
    ]
}
