@testable import NNFlops

/// Conformance cases of the transformer-side and shape kernels (analytic == executed per
/// phase under the `executed` attention convention, gradients against central finite
/// differences): odd sizes, views and copies, causal and non-causal, GQA/MQA, naive and
/// fused attention, dropout, cross-attention with nq != nk, and every loss with and
/// without a target that needs its gradient.
extension ExecutorTests {
    static let transformerCases: [KernelCase] = [
        // Shape operators: views (flatten, reshape, contiguous pieces) and copies.
        KernelCase("flatten", "[2, 3, 4]", "y = linear(x, 5)\nz = flatten(y)\noutput linear(z, 3)"),
        KernelCase("flatten", "[2, 3, 4, 2]", "y = linear(x, 3)\nz = flatten(y, start = 0, end = 2)\noutput linear(z, 2)"),
        KernelCase("reshape", "[2, 3, 4]", "y = linear(x, 6)\nz = reshape(y, [3, -1, 4])\noutput linear(z, 3)"),
        KernelCase("reshape", "[3, 5]", "y = linear(x, 4)\nz = reshape(y, [4, 3])\nz = relu(z, inplace = true)\nw = reshape(y, [4, 3])\noutput z + w"),
        KernelCase("transpose", "[2, 3, 5]", "y = linear(x, 4)\nz = transpose(y, 0, 2)\noutput linear(z, 3)"),
        KernelCase("transpose", "[3, 5]", "y = linear(x, 4)\noutput transpose(y, 0, 1)"),
        KernelCase("permute", "[2, 3, 5]", "y = linear(x, 4)\nz = permute(y, [2, 0, 1])\noutput linear(z, 3)"),
        KernelCase("permute", "[2, 3, 2, 3]", "y = linear(x, 5)\noutput permute(y, [-1, 1, 0, 2])"),
        KernelCase("concat", "[2, 3]", "a = linear(x, 3)\nb = linear(x, 5)\ny = concat([a, b, a], dim = 1)\noutput linear(y, 2)"),
        KernelCase("concat", "[2, 3, 4]", "a = linear(x, 3)\nb = linear(x, 3)\ny = concat([a, b], dim = 0)\noutput linear(y, 2)"),
        KernelCase("split", "[2, 3, 10]", "h = linear(x, 10)\na, b, c = split(h, 4)\noutput linear(a, 2) + linear(c, 2)"),
        KernelCase("split", "[4, 3]", "h = linear(x, 5)\na, b = split(h, [1, 3], dim = 0)\noutput linear(b, 2)"),
        KernelCase("chunk", "[2, 7]", "h = linear(x, 7)\na, b, c, d = chunk(h, 4)\noutput a * b + linear(d, 2)"),
        KernelCase("chunk", "[6, 3]", "h = linear(x, 5)\na, b = chunk(h, 2, dim = 0)\noutput a - b"),
        KernelCase("select", "[2, 3, 4]", "h = linear(x, 5)\ny = select(h, 1, -1)\noutput linear(y, 2)"),
        KernelCase("select", "[3, 2, 4]", "h = linear(x, 5)\ny = select(h, 0, 1)\noutput linear(y, 2)"),
        KernelCase("slice", "[2, 7, 3]", "h = linear(x, 4)\ny = slice(h, 1, 1, 6, step = 2)\noutput linear(y, 2)"),
        KernelCase("slice", "[5, 3]", "h = linear(x, 4)\ny = slice(h, 0, 1, -1)\noutput linear(y, 2)"),
        KernelCase("expand", "[1, 4]", "h = linear(x, 4)\ny = expand(h, [3, 5, 4])\noutput linear(y, 2)"),
        KernelCase("expand", "[2, 4]", "h = linear(x, 4)\ny = expand(h, [1, -1, 4])\noutput linear(y, 3)"),
        KernelCase("expand", "[3, 1]", "h = linear(x, 1)\ny = expand(h, [3, 5])\noutput y"),
        // Matmul with broadcast batches, and learned tensors.
        KernelCase("matmul", "[2, 1, 3, 5]", "input z: [5, 4, 7]\na = linear(x, 4)\nb = linear(z, 6)\noutput matmul(a, b)"),
        KernelCase("matmul", "[3, 5]", "a = linear(x, 4)\nb = parameter([4, 6])\noutput matmul(a, b)"),
        KernelCase("matmul", "[2, 3, 5]", "a = linear(x, 4)\nw = parameter([5, 4])\noutput matmul(w, transpose(a, 1, 2))"),
        KernelCase("parameter", "[2, 3]", "p = parameter([3])\ny = linear(x, 3)\noutput y * p"),
        KernelCase("parameter", "[2, 3]", "p = parameter([2, 3])\noutput linear(p, 4) + linear(x, 4)"),
        KernelCase("embedding", "[2, 5] int", "e = embedding(x, 7, 4)\noutput linear(e, 3)"),
        KernelCase("embedding", "[2, 5] int", "e = embedding(x, 11, 6, name = \"wte\")\noutput linear(e, 11, bias = false, tie = \"wte\")"),
        KernelCase("rope", "[2, 5, 8]", "h = linear(x, 8)\noutput rope(h, 2)"),
        KernelCase("rope", "[1, 3, 12]", "h = linear(x, 12)\noutput rope(h, 3, base = 100.0)"),
        // Attention: fused and naive, causal or not, dropout, GQA / MQA, cross-attention.
        KernelCase("attention", "[2, 5, 8]", "q = linear(x, 8)\nk = linear(x, 8)\nv = linear(x, 8)\noutput attention(q, k, v, 2)"),
        KernelCase("attention", "[2, 5, 8]", "q = linear(x, 8)\nk = linear(x, 8)\nv = linear(x, 8)\noutput attention(q, k, v, 2, causal = true)"),
        KernelCase("attention", "[2, 5, 8]", "q = linear(x, 8)\nk = linear(x, 8)\nv = linear(x, 8)\noutput attention(q, k, v, 2, impl = \"naive\")"),
        KernelCase("attention", "[2, 5, 8]", "q = linear(x, 8)\nk = linear(x, 8)\nv = linear(x, 8)\noutput attention(q, k, v, 2, causal = true, impl = \"naive\")"),
        KernelCase("attention", "[1, 6, 6]", "q = linear(x, 6)\nk = linear(x, 6)\nv = linear(x, 6)\noutput attention(q, k, v, 3, causal = true, dropout = 0.25)"),
        KernelCase("attention", "[1, 6, 6]", "q = linear(x, 6)\nk = linear(x, 6)\nv = linear(x, 6)\noutput attention(q, k, v, 3, impl = \"naive\", dropout = 0.25, causal = true)"),
        KernelCase("attention", "[1, 4, 8]", "q = linear(x, 8)\nk = linear(x, 4)\nv = linear(x, 4)\noutput attention(q, k, v, 4, kv_heads = 2, causal = true)"),
        KernelCase("attention", "[1, 4, 8]", "q = linear(x, 8)\nk = linear(x, 4)\nv = linear(x, 4)\noutput attention(q, k, v, 4, kv_heads = 2, impl = \"naive\")"),
        KernelCase("attention", "[2, 5, 6]", "input m: [2, 3, 4]\nq = linear(x, 6)\nk = linear(m, 2)\nv = linear(m, 3)\noutput attention(q, k, v, 3, kv_heads = 1, causal = true, scale = 0.3)"),
        KernelCase("attention", "[2, 5, 6]", "input m: [2, 3, 4]\nq = linear(x, 6)\nk = linear(m, 2)\nv = linear(m, 3)\noutput attention(q, k, v, 3, kv_heads = 1, causal = true, impl = \"naive\")"),
        KernelCase("attention", "[1, 7, 4]", "v = linear(x, 4)\noutput attention(x, x, v, 2, causal = true)"),
        KernelCase("attention", "[1, 7, 4]", "q = linear(x, 4)\noutput attention(q, x, x, 2, causal = true, impl = \"naive\")"),
        // The implementations by name and by the run (fp32: efficient for d a multiple of 4,
        // math otherwise), masks (a learned bias broadcast over the batch; a bool mask; a
        // sliding window, materialised or flash's own), the KV cache, repeat_kv, per-head
        // inputs, layout copies, one query over six keys (decode).
        KernelCase("attention", "[2, 5, 8]", "q = linear(x, 8)\nk = linear(x, 8)\nv = linear(x, 8)\nb = parameter([2, 5, 5])\noutput attention(q, k, v, 2, mask = b)"),
        KernelCase("attention", "[2, 5, 8]", "q = linear(x, 8)\nk = linear(x, 8)\nv = linear(x, 8)\n" +
            "b = parameter([2, 1, 5, 5])\noutput attention(q, k, v, 2, causal = true, mask = b, impl = \"math\")"),
        KernelCase("attention", "[2, 5, 8]", "q = linear(x, 8)\nk = linear(x, 8)\nv = linear(x, 8)\nb = parameter([5, 5])\noutput attention(q, k, v, 2, mask = b, impl = \"eager\", dropout = 0.2)"),
        KernelCase("attention", "[2, 5, 8]", "input m: [2, 1, 5, 5] bool\nq = linear(x, 8)\nk = linear(x, 8)\nv = linear(x, 8)\noutput attention(q, k, v, 2, mask = m, impl = \"efficient\")"),
        KernelCase("attention", "[1, 6, 8]", "q = linear(x, 8)\nk = linear(x, 8)\nv = linear(x, 8)\noutput attention(q, k, v, 2, causal = true, window = 3)"),
        KernelCase("attention", "[1, 6, 8]", "q = linear(x, 8)\nk = linear(x, 8)\nv = linear(x, 8)\noutput attention(q, k, v, 2, causal = true, window = 3, impl = \"flash\", dropout = 0.3)"),
        KernelCase("attention", "[1, 6, 8]", "q = linear(x, 8)\nk = linear(x, 4)\nv = linear(x, 4)\noutput attention(q, k, v, 2, kv_heads = 1, causal = true, window = 2, impl = \"eager\")"),
        KernelCase("attention", "[2, 4, 8]", "qkv = linear(x, 24)\nq, k, v = split(qkv, 8)\noutput attention(q, k, v, 2, causal = true, cache = true, dropout = 0.2)"),
        KernelCase("attention", "[2, 4, 8]", "q = linear(x, 8)\nk = linear(x, 4)\nv = linear(x, 4)\noutput attention(q, k, v, 4, kv_heads = 2, causal = true, cache = true)"),
        KernelCase("attention", "[2, 4, 8]", "q = linear(x, 8)\nk = linear(x, 4)\nv = linear(x, 4)\n" +
            "output attention(q, k, v, 2, kv_heads = 1, repeat_kv = true, window = 2, causal = true, cache = true)"),
        KernelCase("attention", "[2, 4, 8]", "q = linear(x, 8)\nk = linear(x, 4)\nv = linear(x, 4)\noutput attention(q, k, v, 2, kv_heads = 1, impl = \"math\", kv_layout = \"bhnd\")"),
        KernelCase("attention", "[2, 3, 8]", "h = reshape(linear(x, 24), [2, 3, 2, 12])\nq, k, v = chunk(h, 3)\n" +
            "output attention(q, k, v, 2, q_layout = \"bhnd\", out_layout = \"nbhd\", impl = \"cudnn\")"),
        KernelCase("attention", "[2, 3, 8]", "q = linear(x, 8)\nk = linear(x, 8)\nv = linear(x, 8)\noutput attention(q, k, v, 2, q_layout = \"nbhd\", out_layout = \"nbhd\")"),
        KernelCase("attention", "[2, 1, 8]", "input m: [2, 6, 8]\nq = linear(x, 8)\nk = linear(m, 8)\nv = linear(m, 8)\noutput attention(q, k, v, 2)"),
        KernelCase("attention", "[2, 1, 8]", "input m: [2, 6, 8]\nq = linear(x, 8)\nk = linear(m, 4)\nv = linear(m, 4)\noutput attention(q, k, v, 2, kv_heads = 1, cache = true)"),
        // A relative position bias (Swin) as attention's mask: 2 x 3 windows, N = 6 tokens.
        KernelCase("relative_position_bias", "[2, 6, 8]", "q = linear(x, 8)\nk = linear(x, 8)\nv = linear(x, 8)\n" +
            "b = relative_position_bias(2, [2, 3])\noutput attention(q, k, v, 2, mask = b, impl = \"math\")"),
        KernelCase("relative_position_bias", "[2, 4, 8]", "q = linear(x, 8)\nb = relative_position_bias(2, 2)\noutput attention(q, q, q, 2, mask = b)"),
        // Casts: float() of an fp32 tensor is the tensor itself; a cast to bf16 a copy.
        KernelCase("cast", "[3, 5]", "y = linear(x, 4)\noutput linear(float(y), 2)"),
        KernelCase("cast", "[3, 5]", "y = linear(x, 4)\noutput float(cast(y, \"bf16\")) * y"),
        // Shared rotary tables, per-head rope.
        KernelCase("rotary_tables", "[2, 5, 8]", "h = linear(x, 8)\ncos, sin = rotary_tables(x, 4, base = 500.0)\n" +
            "output rope(h, 2, cos = cos, sin = sin) + rope(linear(x, 8), 2, cos = cos, sin = sin)"),
        KernelCase("rope", "[2, 5, 8]", "h = reshape(linear(x, 8), [2, 5, 2, 4])\ncos, sin = rotary_tables(x, 4)\noutput rope(h, 2, cos = cos, sin = sin)"),
        KernelCase("arange", "[2, 4] int", "p = reshape(arange(4), [1, 4])\noutput linear(embedding(x, 6, 3), 2) + linear(embedding(p, 4, 3), 2)"),
        KernelCase("zeros", "[2, 4] int", "t = expand(zeros([1, 4]), [2, 4])\noutput linear(embedding(x, 6, 3) + embedding(t, 2, 3), 2)"),
        // Softmax, reductions.
        KernelCase("softmax", "[3, 5]", "h = linear(x, 6)\noutput softmax(h)"),
        KernelCase("softmax", "[2, 3, 4]", "h = linear(x, 5)\noutput softmax(h, dim = 1)"),
        KernelCase("log_softmax", "[3, 5]", "h = linear(x, 6)\noutput log_softmax(h)"),
        KernelCase("log_softmax", "[2, 3, 4]", "h = linear(x, 5)\noutput log_softmax(h, dim = 0)"),
        KernelCase("sum", "[2, 3, 4]", "h = linear(x, 5)\noutput sum(h, dim = [0, 2])"),
        KernelCase("sum", "[2, 3, 4]", "h = linear(x, 5)\noutput sum(h, dim = [1], keepdim = true)"),
        KernelCase("sum", "[3, 4]", "output sum(linear(x, 3))"),
        KernelCase("mean", "[2, 3, 4]", "h = linear(x, 5)\noutput mean(h, dim = [-1, 0])"),
        KernelCase("mean", "[3, 4]", "output mean(linear(x, 3))"),
        // Losses, each with a fixed target and with a target that needs its gradient.
        KernelCase("mse_loss", "[3, 4]", "h = linear(x, 4)\ninput t: [3, 4]\noutput mse_loss(h, t)"),
        KernelCase("mse_loss", "[3, 4]", "h = linear(x, 4)\nt = linear(x, 4)\noutput mse_loss(h, t)"),
        KernelCase("bce_loss", "[3, 4]", "h = linear(x, 5)\ninput t: [3, 5]\noutput bce_loss(h, t)"),
        KernelCase("bce_loss", "[3, 4]", "h = linear(x, 5)\nt = sigmoid(linear(x, 5))\noutput bce_loss(h, t)"),
        KernelCase("bce_loss", "[3, 4]", "h = sigmoid(linear(x, 5))\ninput t: [3, 5]\noutput bce_loss(h, t, logits = false)"),
        KernelCase("bce_loss", "[3, 4]", "h = sigmoid(linear(x, 5))\nt = sigmoid(linear(x, 5))\noutput bce_loss(h, t, logits = false)"),
        KernelCase("cross_entropy", "[4, 3]", "h = linear(x, 5)\ninput t: [4] int\noutput cross_entropy(h, t)"),
        KernelCase("cross_entropy", "[4, 3]", "h = linear(x, 5)\ninput t: [4] int\noutput cross_entropy(h, t, label_smoothing = 0.1)"),
        KernelCase("cross_entropy", "[2, 3, 4]", "h = linear(x, 4)\ninput t: [2, 4] int\noutput cross_entropy(h, t)"),
        KernelCase("cross_entropy", "[4, 3]", "h = linear(x, 5)\ninput t: [4, 5]\noutput cross_entropy(h, t)"),
        KernelCase("cross_entropy", "[4, 3]", "h = linear(x, 5)\nt = softmax(linear(x, 5))\noutput cross_entropy(h, t, label_smoothing = 0.2)"),
        KernelCase("cross_entropy", "[3]", "h = linear(x, 5)\nt = softmax(linear(x, 5))\noutput cross_entropy(h, t)"),
        KernelCase("huber_loss", "[3, 4]", "h = linear(x, 4)\nt = linear(x, 4)\noutput huber_loss(h, t, delta = 0.3)"),
        KernelCase("huber_loss", "[3, 4]", "h = linear(x, 5)\ninput t: [3, 5]\noutput huber_loss(h, t)"),
        KernelCase("hinge_loss", "[3, 4]", "h = linear(x, 4)\ninput t: [3, 4]\noutput hinge_loss(h, t)"),
        KernelCase("hinge_loss", "[3, 4]", "h = linear(x, 4)\nt = tanh(linear(x, 4))\noutput hinge_loss(h, t)"),
        KernelCase("hinge_loss", "[4, 3]", "h = linear(x, 5)\ninput t: [4] int\noutput hinge_loss(h, t)"),
        KernelCase("focal_loss", "[3, 4]", "h = linear(x, 5)\ninput t: [3, 5]\noutput focal_loss(h, t)"),
        KernelCase("focal_loss", "[3, 4]", "h = linear(x, 5)\ninput t: [3, 5]\noutput focal_loss(h, t, gamma = 1.5, alpha = -1)"),
        KernelCase("kl_div", "[3, 4]", "h = log_softmax(linear(x, 5))\ninput t: [3, 5]\noutput kl_div(h, t)"),
        KernelCase("kl_div", "[3, 4]", "h = log_softmax(linear(x, 5))\nt = softmax(linear(x, 5))\noutput kl_div(h, t)"),
        KernelCase("kl_div", "[3, 4]", "h = log_softmax(linear(x, 5))\nt = log_softmax(linear(x, 5))\noutput kl_div(h, t, log_target = true)"),
    ]
}
