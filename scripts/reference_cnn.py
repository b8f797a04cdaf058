#!/usr/bin/env python3
"""Independent float64 NumPy reference for the executor's numerical-truth test.

A small CNN (conv -> batchnorm -> relu -> maxpool -> conv -> global average pool) with
seeded weights and input, forward and hand-written backward in NumPy, loss = sum of the
outputs (what `nnflops validate` uses). Writes Tests/Fixtures/reference_cnn.json, which
ExecutorTests reads: the Swift executor (float32) must reproduce the output, the loss and
every parameter gradient.

    python3 scripts/reference_cnn.py
"""
import json
import os
import numpy as np

SPEC = """model fixture_cnn
input x: [2, 3, 6, 6]
y = conv2d(x, 4, kernel = 3, padding = 1, name = "conv1")
y = relu(batchnorm(y, name = "bn1"), name = "relu1")
y = maxpool(y, kernel = 2, name = "pool")
y = conv2d(y, 5, kernel = 2, name = "conv2")
output globalavgpool(y, name = "gap")
"""

rng = np.random.default_rng(2024)
x = rng.uniform(-1, 1, (2, 3, 6, 6))
params = {
    "conv1.weight": rng.uniform(-0.4, 0.4, (4, 3, 3, 3)),
    "conv1.bias": rng.uniform(-0.2, 0.2, (4,)),
    "bn1.weight": rng.uniform(0.5, 1.5, (4,)),
    "bn1.bias": rng.uniform(-0.3, 0.3, (4,)),
    "conv2.weight": rng.uniform(-0.4, 0.4, (5, 4, 2, 2)),
    "conv2.bias": rng.uniform(-0.2, 0.2, (5,)),
}


def conv_forward(x, w, b, pad):
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    n, c, h, wd = xp.shape
    o, _, kh, kw = w.shape
    oh, ow = h - kh + 1, wd - kw + 1
    y = np.zeros((n, o, oh, ow))
    for a in range(kh):
        for bb in range(kw):
            y += np.einsum("nchw,oc->nohw", xp[:, :, a:a + oh, bb:bb + ow], w[:, :, a, bb])
    return y + b[None, :, None, None], xp


def conv_backward(dy, xp, w, pad):
    o, c, kh, kw = w.shape
    oh, ow = dy.shape[2], dy.shape[3]
    dw = np.zeros_like(w)
    dxp = np.zeros_like(xp)
    for a in range(kh):
        for bb in range(kw):
            dw[:, :, a, bb] = np.einsum("nohw,nchw->oc", dy, xp[:, :, a:a + oh, bb:bb + ow])
            dxp[:, :, a:a + oh, bb:bb + ow] += np.einsum("nohw,oc->nchw", dy, w[:, :, a, bb])
    db = dy.sum(axis=(0, 2, 3))
    dx = dxp[:, :, pad:dxp.shape[2] - pad, pad:dxp.shape[3] - pad] if pad else dxp
    return dx, dw, db


# Forward.
c1, x1p = conv_forward(x, params["conv1.weight"], params["conv1.bias"], 1)
m = c1.shape[0] * c1.shape[2] * c1.shape[3]
mu = c1.mean(axis=(0, 2, 3), keepdims=True)
var = ((c1 - mu) ** 2).mean(axis=(0, 2, 3), keepdims=True)
rstd = 1 / np.sqrt(var + 1e-5)
xhat = (c1 - mu) * rstd
g = params["bn1.weight"][None, :, None, None]
bn = xhat * g + params["bn1.bias"][None, :, None, None]
r = np.maximum(bn, 0)
n, c, h, w = r.shape
windows = r.reshape(n, c, h // 2, 2, w // 2, 2)
pooled = windows.max(axis=(3, 5))
c2, x2p = conv_forward(pooled, params["conv2.weight"], params["conv2.bias"], 0)
out = c2.mean(axis=(2, 3), keepdims=True)
loss = out.sum()

# Backward (loss = sum of outputs).
dout = np.ones_like(out)
dc2 = np.broadcast_to(dout / (c2.shape[2] * c2.shape[3]), c2.shape).copy()
dpooled, dw2, db2 = conv_backward(dc2, x2p, params["conv2.weight"], 0)
mask = (windows == pooled[:, :, :, None, :, None])
dr = (mask * dpooled[:, :, :, None, :, None]).reshape(n, c, h, w)
dbn = dr * (bn > 0)
dgamma = (dbn * xhat).sum(axis=(0, 2, 3))
dbeta = dbn.sum(axis=(0, 2, 3))
dxhat = dbn * g
dc1 = rstd / m * (m * dxhat - dxhat.sum(axis=(0, 2, 3), keepdims=True) - xhat * (dxhat * xhat).sum(axis=(0, 2, 3), keepdims=True))
_, dw1, db1 = conv_backward(dc1, x1p, params["conv1.weight"], 1)

grads = {"conv1.weight": dw1, "conv1.bias": db1, "bn1.weight": dgamma, "bn1.bias": dbeta,
         "conv2.weight": dw2, "conv2.bias": db2}
fixture = {
    "spec": SPEC,
    "input": x.ravel().tolist(),
    "parameters": {k: v.ravel().tolist() for k, v in params.items()},
    "output": out.ravel().tolist(),
    "loss": float(loss),
    "gradients": {k: np.asarray(v).ravel().tolist() for k, v in grads.items()},
    "note": "float64 NumPy reference written by scripts/reference_cnn.py; do not edit by hand",
}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "reference_cnn.json")
with open(path, "w") as f:
    json.dump(fixture, f, indent=1)
print(f"wrote {os.path.normpath(path)}: loss {loss:.8f}")
