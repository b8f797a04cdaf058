#!/usr/bin/env python3
"""Independent float64 NumPy reference for the executor's transformer numerical-truth test.

A small pre-LayerNorm transformer language model with seeded weights and token ids:
embedding + learned positions, layernorm, fused q/k/v projection split into grouped-query
heads (2 query heads, 1 key/value head), rotary embedding on q and k, causal softmax
attention, output projection, GELU (erf) MLP, final layernorm, a head tied to the token
embedding, and mean cross-entropy over every position. The forward is written directly
in NumPy from the operators' definitions (torch semantics); the gradients of the loss
with respect to every parameter are central finite differences of that float64 forward
(h = 1e-5; truncation error ~1e-10, far below the test's float32 tolerance), so nothing
here shares code or derivations with the Swift kernels.

Writes Tests/Fixtures/reference_transformer.json, which ExecutorTests reads: the Swift
executor (float32), with attention run fused and naive, must reproduce the loss and every
parameter gradient.

    python3 scripts/reference_transformer.py
"""
import json
import math
import os
import numpy as np

SPEC = """model fixture_transformer
input ids: [2, 5] int
input targets: [2, 5] int
x = embedding(ids, 11, 8, name = "wte") + parameter([5, 8], name = "wpe")
h = layernorm(x, name = "ln_1")
qkv = linear(h, 16, name = "c_attn")
q, k, v = split(qkv, [8, 4, 4], dim = -1, name = "split")
q = rope(q, 2, name = "rope_q")
k = rope(k, 1, name = "rope_k")
a = attention(q, k, v, heads = 2, kv_heads = 1, causal = true, impl = "fused", name = "attn")
x = x + linear(a, 8, name = "c_proj")
h = gelu(linear(layernorm(x, name = "ln_2"), 12, name = "c_fc"), name = "act")
x = x + linear(h, 8, name = "mlp_proj")
x = layernorm(x, name = "ln_f")
logits = linear(x, 11, bias = false, tie = "wte", name = "lm_head")
output cross_entropy(reshape(logits, [10, 11]), reshape(targets, [10]), name = "loss")
"""

B, N, V, D, HEADS, KV, HD = 2, 5, 11, 8, 2, 1, 4
rng = np.random.default_rng(7)
ids = rng.integers(0, V, (B, N))
targets = rng.integers(0, V, (B, N))
params = {
    "wte.weight": rng.uniform(-0.8, 0.8, (V, D)),
    "wpe": rng.uniform(-0.3, 0.3, (N, D)),
    "ln_1.weight": rng.uniform(0.7, 1.3, (D,)),
    "ln_1.bias": rng.uniform(-0.2, 0.2, (D,)),
    "c_attn.weight": rng.uniform(-0.6, 0.6, (16, D)),
    "c_attn.bias": rng.uniform(-0.2, 0.2, (16,)),
    "c_proj.weight": rng.uniform(-0.5, 0.5, (D, D)),
    "c_proj.bias": rng.uniform(-0.2, 0.2, (D,)),
    "ln_2.weight": rng.uniform(0.7, 1.3, (D,)),
    "ln_2.bias": rng.uniform(-0.2, 0.2, (D,)),
    "c_fc.weight": rng.uniform(-0.5, 0.5, (12, D)),
    "c_fc.bias": rng.uniform(-0.2, 0.2, (12,)),
    "mlp_proj.weight": rng.uniform(-0.4, 0.4, (D, 12)),
    "mlp_proj.bias": rng.uniform(-0.2, 0.2, (D,)),
    "ln_f.weight": rng.uniform(0.7, 1.3, (D,)),
    "ln_f.bias": rng.uniform(-0.2, 0.2, (D,)),
}

erf = np.vectorize(math.erf)


def layernorm(x, w, b, eps=1e-5):
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def linear(x, w, b=None):
    y = x @ w.T
    return y if b is None else y + b


def rope(x, heads, base=10000.0):
    b, n, width = x.shape
    d = width // heads
    inv = base ** (-np.arange(0, d, 2) / d)
    angles = np.arange(n)[:, None] * np.concatenate([inv, inv])[None, :]  # [n, d]
    cos, sin = np.cos(angles), np.sin(angles)
    xh = x.reshape(b, n, heads, d)
    rotated = np.concatenate([-xh[..., d // 2:], xh[..., :d // 2]], axis=-1)
    out = xh * cos[None, :, None, :] + rotated * sin[None, :, None, :]
    return out.reshape(b, n, width)


def attention(q, k, v, heads, kv_heads, causal):
    b, nq, _ = q.shape
    nk = k.shape[1]
    d = q.shape[2] // heads
    dv = v.shape[2] // kv_heads
    qh = q.reshape(b, nq, heads, d).transpose(0, 2, 1, 3)
    kh = k.reshape(b, nk, kv_heads, d).transpose(0, 2, 1, 3)
    vh = v.reshape(b, nk, kv_heads, dv).transpose(0, 2, 1, 3)
    group = heads // kv_heads
    kh = np.repeat(kh, group, axis=1)
    vh = np.repeat(vh, group, axis=1)
    s = qh @ kh.transpose(0, 1, 3, 2) / math.sqrt(d)
    if causal:
        mask = np.arange(nk)[None, :] > np.arange(nq)[:, None]
        s = np.where(mask, -np.inf, s)
    s = s - s.max(axis=-1, keepdims=True)
    p = np.exp(s)
    p = p / p.sum(axis=-1, keepdims=True)
    o = p @ vh
    return o.transpose(0, 2, 1, 3).reshape(b, nq, heads * dv)


def loss_of(p):
    x = p["wte.weight"][ids] + p["wpe"][None]
    h = layernorm(x, p["ln_1.weight"], p["ln_1.bias"])
    qkv = linear(h, p["c_attn.weight"], p["c_attn.bias"])
    q, k, v = qkv[..., :8], qkv[..., 8:12], qkv[..., 12:]
    q, k = rope(q, HEADS), rope(k, KV)
    a = attention(q, k, v, HEADS, KV, causal=True)
    x = x + linear(a, p["c_proj.weight"], p["c_proj.bias"])
    h = linear(layernorm(x, p["ln_2.weight"], p["ln_2.bias"]), p["c_fc.weight"], p["c_fc.bias"])
    h = 0.5 * h * (1 + erf(h / math.sqrt(2)))
    x = x + linear(h, p["mlp_proj.weight"], p["mlp_proj.bias"])
    x = layernorm(x, p["ln_f.weight"], p["ln_f.bias"])
    logits = linear(x, p["wte.weight"]).reshape(B * N, V)
    m = logits.max(axis=1, keepdims=True)
    logp = logits - m - np.log(np.exp(logits - m).sum(axis=1, keepdims=True))
    return -logp[np.arange(B * N), targets.reshape(-1)].mean()


def main():
    loss = loss_of(params)
    h = 1e-5
    gradients = {}
    for name, value in params.items():
        g = np.zeros_like(value)
        flat, gflat = value.reshape(-1), g.reshape(-1)
        for i in range(flat.size):
            saved = flat[i]
            flat[i] = saved + h
            plus = loss_of(params)
            flat[i] = saved - h
            minus = loss_of(params)
            flat[i] = saved
            gflat[i] = (plus - minus) / (2 * h)
        gradients[name] = g.reshape(-1).tolist()
    fixture = {
        "spec": SPEC,
        "ids": ids.reshape(-1).tolist(),
        "targets": targets.reshape(-1).tolist(),
        "parameters": {name: value.reshape(-1).tolist() for name, value in params.items()},
        "loss": float(loss),
        "gradients": gradients,
    }
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.path.join(root, "Tests", "Fixtures", "reference_transformer.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")
    print(f"loss {loss:.10f}; wrote {path}")


if __name__ == "__main__":
    main()
