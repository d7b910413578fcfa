#!/usr/bin/env python3
"""Generate the ONNX operator test fixtures for xbarsim's C++ importer and CPU engine.

Regenerate (from the repository root; needs Debian's python3-torch, python3-onnx,
python3-numpy, which is why the system interpreter is named explicitly):

    /usr/bin/python3 tools/make_op_fixtures.py --out tests/fixtures

Output
------
<out>/ops/NAME.onnx          one small model per case (checked with onnx.checker, full_check)
<out>/ops/NAME.in0.npy ...   graph inputs in graph order, float32
<out>/ops/NAME.out.npy       the single graph output, float32
<out>/ops/manifest.txt       one line per case: "NAME opset n_inputs tolerance"
<out>/bad/*.onnx             deliberately invalid / unsupported models, see <out>/bad/README.md

The C++ test is expected to check  max|got - expected| <= tol * max(1, max|expected|).

Reference outputs are computed independently of ONNX: with torch.nn.functional / torch
tensor ops or NumPy, in float64 from the exact float32 inputs and weights (so the only
error left is the engine's own float32 rounding), then stored as float32. The multi-op
networks (net_*) are torch.nn modules exported with torch.onnx.export (dynamic batch
axis); their reference is the module's own forward pass in eval mode (run in float64).

Everything is deterministic: each case seeds its own NumPy RandomState from a CRC32 of
its name, so adding or removing a case does not change the others.

"n_inputs" in the manifest counts the graph inputs that are fed (NAME.in*.npy). In the case
init_as_graph_input the initializers are additionally listed as graph inputs (the
pre-IR-4 exporter style); those come after the fed inputs and must be taken from the
initializers, not fed.
"""

import argparse
import io
import os
import sys
import warnings
import zlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_grad_enabled(False)
torch.use_deterministic_algorithms(True)

# ----------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------


def rng_for(name):
    return np.random.RandomState(zlib.crc32(name.encode("utf-8")) & 0x7FFFFFFF)


def randn(r, *shape, scale=1.0):
    return (r.standard_normal(shape) * scale).astype(np.float32)


def uniform(r, lo, hi, *shape):
    return r.uniform(lo, hi, size=shape).astype(np.float32)


def d(x):
    """float32 numpy -> float64 torch tensor (exact)."""
    return torch.from_numpy(np.asarray(x, dtype=np.float64).copy())


def init(name, arr, typed=False):
    """Initializer. Default: raw_data. typed=True: float_data / int64_data fields."""
    arr = np.asarray(arr)
    if not typed:
        return numpy_helper.from_array(arr, name)
    if arr.dtype == np.float32:
        dt, vals = TensorProto.FLOAT, [float(v) for v in arr.flatten()]
    elif arr.dtype == np.int64:
        dt, vals = TensorProto.INT64, [int(v) for v in arr.flatten()]
    else:
        raise ValueError(arr.dtype)
    t = helper.make_tensor(name, dt, list(arr.shape), vals, raw=False)
    assert not t.raw_data
    return t


def i64(*v):
    return np.array(v, dtype=np.int64)


def f32(*v):
    return np.array(v, dtype=np.float32)


def onnx_pads_to_torch(pads):
    """ONNX pads [b0, b1, ..., e0, e1, ...] -> torch F.pad tuple (last dim first)."""
    n = len(pads) // 2
    out = []
    for ax in reversed(range(n)):
        out += [pads[ax], pads[ax + n]]
    return tuple(int(p) for p in out)


def spatial_pads(pads):
    """ONNX pads of a 4-D tensor with zero N/C pads -> torch (wl, wr, ht, hb) for the
    reflect/replicate modes, which only pad the trailing two dims."""
    t = onnx_pads_to_torch(pads)
    assert all(p == 0 for p in t[4:])
    return t[:4]


def same_pads(in_hw, k, s, dil, upper):
    """ONNX auto_pad SAME_UPPER / SAME_LOWER -> explicit pads [hb, wb, he, we]."""
    b, e = [], []
    for i in range(2):
        out = -(-in_hw[i] // s[i])
        total = max((out - 1) * s[i] + (k[i] - 1) * dil[i] + 1 - in_hw[i], 0)
        small, big = total // 2, total - total // 2
        if upper:
            b.append(small)
            e.append(big)
        else:
            b.append(big)
            e.append(small)
    return b + e


def ref_conv(x, w, b, strides=(1, 1), pads=(0, 0, 0, 0), dil=(1, 1), group=1):
    xp = F.pad(d(x), onnx_pads_to_torch(pads))
    return F.conv2d(xp, d(w), None if b is None else d(b), stride=tuple(strides),
                    dilation=tuple(dil), groups=group)


def pool_out_onnx(n, k, s, pb, pe, dil, ceil):
    eff = (k - 1) * dil + 1
    num = n + pb + pe - eff
    return (-(-num // s) if ceil else num // s) + 1


def ref_maxpool(x, k, s, pads=(0, 0, 0, 0), dil=(1, 1), ceil=False):
    t = d(x)
    if not ceil:
        tp = F.pad(t, onnx_pads_to_torch(pads), value=-np.inf)
        y = F.max_pool2d(tp, tuple(k), tuple(s), 0, tuple(dil))
    else:
        assert pads[0] == pads[2] and pads[1] == pads[3], "ceil_mode reference needs symmetric pads"
        y = F.max_pool2d(t, tuple(k), tuple(s), (pads[0], pads[1]), tuple(dil), ceil_mode=True)
    # Guard: torch and the ONNX (<= opset 17) output-size formula must agree for this case.
    for i in range(2):
        assert y.shape[2 + i] == pool_out_onnx(x.shape[2 + i], k[i], s[i], pads[i], pads[i + 2],
                                               dil[i], ceil), "ceil_mode size rule mismatch"
    return y


def ref_avgpool(x, k, s, pads=(0, 0, 0, 0), include_pad=False, ceil=False):
    t = d(x)
    if not ceil:
        tp = F.pad(t, onnx_pads_to_torch(pads))
        ssum = F.avg_pool2d(tp, tuple(k), tuple(s)) * (k[0] * k[1])
        if include_pad:
            y = ssum / (k[0] * k[1])
        else:
            ones = F.pad(torch.ones_like(t), onnx_pads_to_torch(pads))
            cnt = F.avg_pool2d(ones, tuple(k), tuple(s)) * (k[0] * k[1])
            y = ssum / cnt
    else:
        assert pads[0] == pads[2] and pads[1] == pads[3]
        y = F.avg_pool2d(t, tuple(k), tuple(s), (pads[0], pads[1]), ceil_mode=True,
                         count_include_pad=include_pad)
    for i in range(2):
        assert y.shape[2 + i] == pool_out_onnx(x.shape[2 + i], k[i], s[i], pads[i], pads[i + 2],
                                               1, ceil)
    return y


def ref_bn(x, scale, bias, mean, var, eps):
    t = d(x)
    shp = [1, -1] + [1] * (t.dim() - 2)
    return (t - d(mean).view(shp)) / torch.sqrt(d(var).view(shp) + eps) * d(scale).view(shp) \
        + d(bias).view(shp)


def bn_params(r, c):
    return (uniform(r, 0.5, 1.5, c), randn(r, c, scale=0.5), randn(r, c, scale=0.5),
            uniform(r, 0.2, 2.0, c))


def hardsigmoid(t, alpha, beta):
    return torch.clamp(alpha * t + beta, 0.0, 1.0)


def np_(y):
    if isinstance(y, torch.Tensor):
        y = y.detach().cpu().numpy()
    return np.asarray(y).astype(np.float32)


# ----------------------------------------------------------------------------------------
# Case registry
# ----------------------------------------------------------------------------------------

CASES = []  # dicts: name, opset, model (ModelProto), inputs [np], expected np, tol, ops, batch


def add(name, opset, nodes, inputs, expected, inits=(), tol=1e-5, dyn_batch=True,
        init_as_inputs=False):
    """inputs: list of (name, float32 array); the graph output is nodes[-1].output[0]."""
    expected = np_(expected)
    out_name = nodes[-1].output[0]

    def vi(n, shape, dt=TensorProto.FLOAT):
        dims = list(shape)
        if dyn_batch and len(dims) > 0:
            dims[0] = "N"
        return helper.make_tensor_value_info(n, dt, dims)

    g_in = [vi(n, a.shape) for n, a in inputs]
    if init_as_inputs:
        g_in += [helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)) for t in inits]
    graph = helper.make_graph(list(nodes), name, g_in, [vi(out_name, expected.shape)],
                              initializer=list(inits))
    opsets = [helper.make_opsetid("", opset)]
    model = helper.make_model(graph, producer_name="xbarsim-make_op_fixtures",
                              opset_imports=opsets)
    model.ir_version = helper.find_min_ir_version_for(opsets)
    CASES.append(dict(name=name, opset=opset, model=model, inputs=[a for _, a in inputs],
                      expected=expected, tol=tol,
                      ops=sorted({n.op_type for n in nodes}),
                      batch=inputs[0][1].shape[0] if inputs else None))


def N(op, ins, outs, name=None, **attrs):
    return helper.make_node(op, ins, outs, name=name if name is not None else "", **attrs)


# ----------------------------------------------------------------------------------------
# Operator cases
# ----------------------------------------------------------------------------------------


def conv_cases():
    # basic 3x3, pads 1, bias (opset 11)
    r = rng_for("conv_basic")
    x, w, b = randn(r, 2, 3, 8, 8), randn(r, 4, 3, 3, 3, scale=0.3), randn(r, 4, scale=0.1)
    add("conv_basic", 11,
        [N("Conv", ["x", "W", "B"], ["y"], "conv0", kernel_shape=[3, 3], pads=[1, 1, 1, 1])],
        [("x", x)], ref_conv(x, w, b, pads=(1, 1, 1, 1)), [init("W", w), init("B", b)])

    # stride 2, no pads, no bias, kernel_shape attribute omitted (opset 12)
    r = rng_for("conv_stride2_nobias")
    x, w = randn(r, 3, 3, 9, 9), randn(r, 5, 3, 3, 3, scale=0.3)
    add("conv_stride2_nobias", 12,
        [N("Conv", ["x", "W"], ["y"], "conv0", strides=[2, 2])],
        [("x", x)], ref_conv(x, w, None, strides=(2, 2)), [init("W", w)])

    # grouped conv, group=2 (opset 13)
    r = rng_for("conv_group2")
    x, w, b = randn(r, 2, 4, 7, 7), randn(r, 6, 2, 3, 3, scale=0.3), randn(r, 6, scale=0.1)
    add("conv_group2", 13,
        [N("Conv", ["x", "W", "B"], ["y"], "gconv", group=2, kernel_shape=[3, 3],
           pads=[1, 1, 1, 1])],
        [("x", x)], ref_conv(x, w, b, pads=(1, 1, 1, 1), group=2), [init("W", w), init("B", b)])

    # depthwise, group=C (opset 14)
    r = rng_for("conv_depthwise")
    x, w, b = randn(r, 2, 6, 8, 8), randn(r, 6, 1, 3, 3, scale=0.3), randn(r, 6, scale=0.1)
    add("conv_depthwise", 14,
        [N("Conv", ["x", "W", "B"], ["y"], "dwconv", group=6, kernel_shape=[3, 3],
           pads=[1, 1, 1, 1], strides=[2, 2])],
        [("x", x)], ref_conv(x, w, b, strides=(2, 2), pads=(1, 1, 1, 1), group=6),
        [init("W", w), init("B", b)])

    # depthwise with channel multiplier 2 (group=C, Cout=2C) (opset 15)
    r = rng_for("conv_depthwise_mult2")
    x, w = randn(r, 2, 3, 6, 6), randn(r, 6, 1, 3, 3, scale=0.3)
    add("conv_depthwise_mult2", 15,
        [N("Conv", ["x", "W"], ["y"], "dwconv_m2", group=3, kernel_shape=[3, 3])],
        [("x", x)], ref_conv(x, w, None, group=3), [init("W", w)])

    # asymmetric explicit pads [h_begin, w_begin, h_end, w_end] (opset 15)
    r = rng_for("conv_asym_pads")
    x, w, b = randn(r, 2, 3, 7, 6), randn(r, 4, 3, 3, 3, scale=0.3), randn(r, 4, scale=0.1)
    pads = [0, 1, 2, 0]
    add("conv_asym_pads", 15,
        [N("Conv", ["x", "W", "B"], ["y"], "conv_asym", kernel_shape=[3, 3], pads=pads)],
        [("x", x)], ref_conv(x, w, b, pads=pads), [init("W", w), init("B", b)])

    # auto_pad SAME_UPPER / SAME_LOWER, stride 2 on even size -> odd total pad (asymmetric)
    for nm, opset, mode in [("conv_same_upper", 16, "SAME_UPPER"),
                            ("conv_same_lower", 17, "SAME_LOWER")]:
        r = rng_for(nm)
        x, w, b = randn(r, 2, 3, 8, 10), randn(r, 4, 3, 3, 3, scale=0.3), randn(r, 4, scale=0.1)
        pads = same_pads((8, 10), (3, 3), (2, 2), (1, 1), mode == "SAME_UPPER")
        assert pads[0] != pads[2]
        add(nm, opset,
            [N("Conv", ["x", "W", "B"], ["y"], "conv_" + mode.lower(), kernel_shape=[3, 3],
               strides=[2, 2], auto_pad=mode)],
            [("x", x)], ref_conv(x, w, b, strides=(2, 2), pads=pads), [init("W", w), init("B", b)])

    # auto_pad VALID (opset 11)
    r = rng_for("conv_valid")
    x, w, b = randn(r, 2, 2, 7, 7), randn(r, 3, 2, 3, 3, scale=0.3), randn(r, 3, scale=0.1)
    add("conv_valid", 11,
        [N("Conv", ["x", "W", "B"], ["y"], "conv_valid", kernel_shape=[3, 3], auto_pad="VALID",
           strides=[2, 2])],
        [("x", x)], ref_conv(x, w, b, strides=(2, 2)), [init("W", w), init("B", b)])

    # dilation 2 with pads 2 (opset 12)
    r = rng_for("conv_dilation")
    x, w, b = randn(r, 2, 3, 9, 9), randn(r, 4, 3, 3, 3, scale=0.3), randn(r, 4, scale=0.1)
    add("conv_dilation", 12,
        [N("Conv", ["x", "W", "B"], ["y"], "conv_dil", kernel_shape=[3, 3], dilations=[2, 2],
           pads=[2, 2, 2, 2])],
        [("x", x)], ref_conv(x, w, b, pads=(2, 2, 2, 2), dil=(2, 2)), [init("W", w), init("B", b)])

    # rectangular kernel 2x3, different strides/dilations per axis, asymmetric pads (opset 16)
    r = rng_for("conv_rect_mixed")
    x, w, b = randn(r, 3, 3, 9, 11), randn(r, 4, 3, 2, 3, scale=0.3), randn(r, 4, scale=0.1)
    pads = [1, 0, 0, 2]
    add("conv_rect_mixed", 16,
        [N("Conv", ["x", "W", "B"], ["y"], "conv_rect", kernel_shape=[2, 3], strides=[1, 2],
           dilations=[2, 1], pads=pads)],
        [("x", x)], ref_conv(x, w, b, strides=(1, 2), pads=pads, dil=(2, 1)),
        [init("W", w), init("B", b)])

    # 1x1 pointwise conv (opset 17)
    r = rng_for("conv_1x1")
    x, w, b = randn(r, 2, 8, 5, 5), randn(r, 6, 8, 1, 1, scale=0.3), randn(r, 6, scale=0.1)
    add("conv_1x1", 17,
        [N("Conv", ["x", "W", "B"], ["y"], "pwconv", kernel_shape=[1, 1])],
        [("x", x)], ref_conv(x, w, b), [init("W", w), init("B", b)])

    # larger conv, batch 1 (opset 13): 16->32 channels, 3x3 on 16x16
    r = rng_for("conv_large_b1")
    x, w, b = randn(r, 1, 16, 16, 16), randn(r, 32, 16, 3, 3, scale=0.1), randn(r, 32, scale=0.1)
    add("conv_large_b1", 13,
        [N("Conv", ["x", "W", "B"], ["y"], "conv_large", kernel_shape=[3, 3], pads=[1, 1, 1, 1])],
        [("x", x)], ref_conv(x, w, b, pads=(1, 1, 1, 1)), [init("W", w), init("B", b)], tol=1e-4)


def gemm_matmul_cases():
    # Gemm transB=1 with bias vector (the torch Linear layout) (opset 11)
    r = rng_for("gemm_transB_bias")
    a, bw, c = randn(r, 3, 5), randn(r, 4, 5), randn(r, 4)
    add("gemm_transB_bias", 11,
        [N("Gemm", ["a", "B", "C"], ["y"], "fc", transB=1)],
        [("a", a)], d(a) @ d(bw).T + d(c), [init("B", bw), init("C", c)])

    # alpha, beta, C of shape [1, N] (opset 13)
    r = rng_for("gemm_alpha_beta")
    a, bw, c = randn(r, 2, 6), randn(r, 6, 4), randn(r, 1, 4)
    add("gemm_alpha_beta", 13,
        [N("Gemm", ["a", "B", "C"], ["y"], "gemm_ab", alpha=0.5, beta=2.0)],
        [("a", a)], 0.5 * (d(a) @ d(bw)) + 2.0 * d(c), [init("B", bw), init("C", c)])

    # no C input (optional since opset 11) (opset 12)
    r = rng_for("gemm_no_bias")
    a, bw = randn(r, 3, 5), randn(r, 4, 5)
    add("gemm_no_bias", 12,
        [N("Gemm", ["a", "B"], ["y"], "gemm_nob", transB=1, alpha=1.5)],
        [("a", a)], 1.5 * (d(a) @ d(bw).T), [init("B", bw)])

    # scalar C (shape [1]) broadcast over [M, N] (opset 14)
    r = rng_for("gemm_scalar_c")
    a, bw, c = randn(r, 2, 5), randn(r, 5, 3), f32(0.75)
    add("gemm_scalar_c", 14,
        [N("Gemm", ["a", "B", "C"], ["y"], "gemm_sc", beta=-1.0)],
        [("a", a)], d(a) @ d(bw) - d(c), [init("C", c), init("B", bw)])

    # full-size C [M, N] (fixes M = 3, so the batch is static here) (opset 15)
    r = rng_for("gemm_full_c")
    a, bw, c = randn(r, 3, 4), randn(r, 4, 5), randn(r, 3, 5)
    add("gemm_full_c", 15,
        [N("Gemm", ["a", "B", "C"], ["y"], "gemm_fc")],
        [("a", a)], d(a) @ d(bw) + d(c), [init("B", bw), init("C", c)], dyn_batch=False)

    # transA=1: the dynamic input is [K, M]; dim 0 is NOT the batch here (opset 16)
    r = rng_for("gemm_transA")
    a, bw, c = randn(r, 5, 3), randn(r, 5, 4), randn(r, 4)
    add("gemm_transA", 16,
        [N("Gemm", ["a", "B", "C"], ["y"], "gemm_ta", transA=1, alpha=0.8, beta=0.3)],
        [("a", a)], 0.8 * (d(a).T @ d(bw)) + 0.3 * d(c), [init("B", bw), init("C", c)],
        dyn_batch=False)

    # MatMul 2-D with constant B (opset 11)
    r = rng_for("matmul_const")
    a, bw = randn(r, 3, 6), randn(r, 6, 4)
    add("matmul_const", 11,
        [N("MatMul", ["a", "B"], ["y"], "mm")],
        [("a", a)], d(a) @ d(bw), [init("B", bw)])

    # MatMul 2-D, both operands dynamic (opset 13; static shapes)
    r = rng_for("matmul_dynamic")
    a, bm = randn(r, 3, 6), randn(r, 6, 4)
    add("matmul_dynamic", 13,
        [N("MatMul", ["a", "b"], ["y"], "mm_dyn")],
        [("a", a), ("b", bm)], d(a) @ d(bm), dyn_batch=False)

    # MatMul N-D x 2-D constant (opset 15)
    r = rng_for("matmul_nd_const")
    a, bw = randn(r, 2, 3, 4, 5), randn(r, 5, 6)
    add("matmul_nd_const", 15,
        [N("MatMul", ["a", "B"], ["y"], "mm_nd")],
        [("a", a)], d(a) @ d(bw), [init("B", bw)])

    # MatMul 3-D batched, both dynamic, same batch (opset 14)
    r = rng_for("matmul_batched")
    a, bm = randn(r, 3, 4, 5), randn(r, 3, 5, 2)
    add("matmul_batched", 14,
        [N("MatMul", ["a", "b"], ["y"], "bmm")],
        [("a", a), ("b", bm)], d(a) @ d(bm))

    # MatMul 4-D with broadcasting of the second operand's dim 1 (opset 17)
    r = rng_for("matmul_nd_broadcast")
    a, bm = randn(r, 2, 3, 4, 5), randn(r, 2, 1, 5, 6)
    add("matmul_nd_broadcast", 17,
        [N("MatMul", ["a", "b"], ["y"], "bmm_bc")],
        [("a", a), ("b", bm)], d(a) @ d(bm))

    # MatMul of a dynamic [N, 1, 4, 5] with a constant 3-D [3, 5, 2]: both operands broadcast
    # in the stacked dims -> [N, 3, 4, 2] (opset 12)
    r = rng_for("matmul_nd_const_3d")
    a, bw = randn(r, 2, 1, 4, 5), randn(r, 3, 5, 2)
    add("matmul_nd_const_3d", 12,
        [N("MatMul", ["a", "B"], ["y"], "mm_c3")],
        [("a", a)], d(a) @ d(bw), [init("B", bw)])


def elementwise_cases():
    # Add with constant per-channel initializer [C,1,1] (opset 11)
    r = rng_for("add_const_channel")
    x, c = randn(r, 2, 3, 4, 5), randn(r, 3, 1, 1)
    add("add_const_channel", 11, [N("Add", ["x", "c"], ["y"], "add0")],
        [("x", x)], d(x) + d(c), [init("c", c)])

    # Sub, two dynamic operands with broadcasting (opset 12)
    r = rng_for("sub_dyn_broadcast")
    x, y = randn(r, 2, 3, 4, 5), randn(r, 2, 1, 4, 1)
    add("sub_dyn_broadcast", 12, [N("Sub", ["x", "z"], ["y"], "sub0")],
        [("x", x), ("z", y)], d(x) - d(y))

    # Mul by 0-d scalar initializer (opset 13)
    r = rng_for("mul_scalar_const")
    x = randn(r, 3, 2, 4, 4)
    s = np.array(-1.75, dtype=np.float32)
    add("mul_scalar_const", 13, [N("Mul", ["x", "s"], ["y"], "mul0")],
        [("x", x)], d(x) * d(s), [init("s", s)])

    # Div, two dynamic operands, divisor broadcast over H (opset 14)
    r = rng_for("div_dyn_broadcast")
    x, y = randn(r, 2, 3, 4, 5), uniform(r, 0.5, 2.0, 2, 3, 1, 5)
    add("div_dyn_broadcast", 14, [N("Div", ["x", "z"], ["y"], "div0")],
        [("x", x), ("z", y)], d(x) / d(y))

    # Sub with the constant as the FIRST operand, lower-rank (broadcast on W) (opset 15)
    r = rng_for("sub_const_first")
    x, c = randn(r, 2, 3, 4, 5), randn(r, 5)
    add("sub_const_first", 15, [N("Sub", ["c", "x"], ["y"], "rsub")],
        [("x", x)], d(c) - d(x), [init("c", c)])

    # Add two dynamic operands of identical shape (opset 16)
    r = rng_for("add_dyn_same")
    x, y = randn(r, 2, 3, 4, 5), randn(r, 2, 3, 4, 5)
    add("add_dyn_same", 16, [N("Add", ["x", "z"], ["y"], "add_same")],
        [("x", x), ("z", y)], d(x) + d(y))

    # Div by constant [1,C,1,1] (opset 17)
    r = rng_for("div_const")
    x, c = randn(r, 2, 4, 3, 3), uniform(r, 0.5, 2.0, 1, 4, 1, 1)
    add("div_const", 17, [N("Div", ["x", "c"], ["y"], "div_c")],
        [("x", x)], d(x) / d(c), [init("c", c)])

    # Mul of two dynamic operands where BOTH broadcast: [N,C,1,W] * [N,1,H,1] (opset 17)
    r = rng_for("mul_dyn_bothbcast")
    x, y = randn(r, 2, 3, 1, 5), randn(r, 2, 1, 4, 1)
    add("mul_dyn_bothbcast", 17, [N("Mul", ["x", "z"], ["y"], "mul_bb")],
        [("x", x), ("z", y)], d(x) * d(y))

    # Add on 2-D activations with a [F] bias constant (opset 12)
    r = rng_for("add_2d_bias")
    x, c = randn(r, 3, 7), randn(r, 7)
    add("add_2d_bias", 12, [N("Add", ["x", "c"], ["y"], "add2d")],
        [("x", x)], d(x) + d(c), [init("c", c)])


def activation_cases():
    r = rng_for("relu")
    x = randn(r, 2, 3, 4, 5)
    add("relu", 11, [N("Relu", ["x"], ["y"])],   # unnamed node on purpose
        [("x", x)], torch.relu(d(x)))

    # Clip with min and max as (scalar) initializer inputs (opset 11)
    r = rng_for("clip_min_max")
    x = randn(r, 2, 3, 4, 5, scale=2.0)
    add("clip_min_max", 11, [N("Clip", ["x", "lo", "hi"], ["y"], "clip0")],
        [("x", x)], torch.clamp(d(x), -0.5, 1.25),
        [init("lo", np.array(-0.5, np.float32)), init("hi", np.array(1.25, np.float32))])

    # Clip with only max (min omitted with an empty input name) (opset 12)
    r = rng_for("clip_max_only")
    x = randn(r, 2, 3, 4, 5, scale=2.0)
    add("clip_max_only", 12, [N("Clip", ["x", "", "hi"], ["y"], "clip_max")],
        [("x", x)], torch.clamp(d(x), max=0.3), [init("hi", np.array(0.3, np.float32))])

    # Clip with only min (max input absent) (opset 14)
    r = rng_for("clip_min_only")
    x = randn(r, 2, 3, 4, 5, scale=2.0)
    add("clip_min_only", 14, [N("Clip", ["x", "lo"], ["y"], "clip_min")],
        [("x", x)], torch.clamp(d(x), min=-0.2), [init("lo", np.array(-0.2, np.float32))])

    # Clip without min and max: identity (opset 15)
    r = rng_for("clip_no_bounds")
    x = randn(r, 2, 3, 4, 5)
    add("clip_no_bounds", 15, [N("Clip", ["x"], ["y"], "clip_none")],
        [("x", x)], d(x))

    # ReLU6 pattern: Clip(x, 0, 6) with min/max from Constant nodes (value tensor) (opset 13)
    r = rng_for("clip_relu6")
    x = randn(r, 2, 3, 4, 5, scale=5.0)
    add("clip_relu6", 13,
        [N("Constant", [], ["zero"], "const_min",
           value=numpy_helper.from_array(np.array(0.0, np.float32), "zero_t")),
         N("Constant", [], ["six"], "const_max",
           value=numpy_helper.from_array(np.array(6.0, np.float32), "six_t")),
         N("Clip", ["x", "zero", "six"], ["y"], "relu6")],
        [("x", x)], torch.clamp(d(x), 0.0, 6.0))

    r = rng_for("leaky_relu")
    x = randn(r, 2, 3, 4, 5)
    add("leaky_relu", 16, [N("LeakyRelu", ["x"], ["y"], "lrelu", alpha=0.2)],
        [("x", x)], F.leaky_relu(d(x), 0.2))

    r = rng_for("leaky_relu_default")
    x = randn(r, 2, 3, 4, 5)
    add("leaky_relu_default", 12, [N("LeakyRelu", ["x"], ["y"], "lrelu_def")],
        [("x", x)], F.leaky_relu(d(x), 0.01))

    r = rng_for("sigmoid")
    x = randn(r, 2, 3, 4, 5, scale=3.0)
    add("sigmoid", 13, [N("Sigmoid", ["x"], ["y"], "sig")],
        [("x", x)], torch.sigmoid(d(x)))

    r = rng_for("hard_sigmoid")
    x = randn(r, 2, 3, 4, 5, scale=3.0)
    add("hard_sigmoid", 15, [N("HardSigmoid", ["x"], ["y"], "hsig", alpha=0.25, beta=0.4)],
        [("x", x)], hardsigmoid(d(x), 0.25, 0.4))

    r = rng_for("hard_sigmoid_default")
    x = randn(r, 2, 3, 4, 5, scale=4.0)
    add("hard_sigmoid_default", 11, [N("HardSigmoid", ["x"], ["y"], "hsig_def")],
        [("x", x)], hardsigmoid(d(x), 0.2, 0.5))

    r = rng_for("hard_swish")
    x = randn(r, 2, 3, 4, 5, scale=3.0)
    add("hard_swish", 14, [N("HardSwish", ["x"], ["y"], "hswish")],
        [("x", x)], d(x) * hardsigmoid(d(x), 1.0 / 6.0, 0.5))

    r = rng_for("hard_swish_op17")
    x = randn(r, 3, 7, scale=4.0)
    add("hard_swish_op17", 17, [N("HardSwish", ["x"], ["y"], "hswish17")],
        [("x", x)], F.hardswish(d(x)))

    r = rng_for("tanh")
    x = randn(r, 2, 3, 4, 5, scale=2.0)
    add("tanh", 17, [N("Tanh", ["x"], ["y"], "tanh0")],
        [("x", x)], torch.tanh(d(x)))


def pool_cases():
    r = rng_for("maxpool_2x2")
    x = randn(r, 2, 3, 8, 8)
    add("maxpool_2x2", 11,
        [N("MaxPool", ["x"], ["y"], "mp", kernel_shape=[2, 2], strides=[2, 2])],
        [("x", x)], ref_maxpool(x, (2, 2), (2, 2)))

    # 3x3 s2 pads 1 (ResNet stem) (opset 12)
    r = rng_for("maxpool_3x3_s2_p1")
    x = randn(r, 2, 3, 9, 9)
    add("maxpool_3x3_s2_p1", 12,
        [N("MaxPool", ["x"], ["y"], "mp", kernel_shape=[3, 3], strides=[2, 2],
           pads=[1, 1, 1, 1])],
        [("x", x)], ref_maxpool(x, (3, 3), (2, 2), (1, 1, 1, 1)))

    # ceil_mode=1 with pads 1 (opset 13)
    r = rng_for("maxpool_ceil")
    x = randn(r, 2, 3, 8, 8)
    add("maxpool_ceil", 13,
        [N("MaxPool", ["x"], ["y"], "mp_ceil", kernel_shape=[3, 3], strides=[2, 2],
           pads=[1, 1, 1, 1], ceil_mode=1)],
        [("x", x)], ref_maxpool(x, (3, 3), (2, 2), (1, 1, 1, 1), ceil=True))

    # ceil_mode=1 without pads, strides 1 default (default strides=1) on rect kernel (opset 11)
    r = rng_for("maxpool_ceil_nopad")
    x = randn(r, 2, 2, 7, 8)
    add("maxpool_ceil_nopad", 11,
        [N("MaxPool", ["x"], ["y"], "mp_ceil2", kernel_shape=[2, 3], strides=[2, 2],
           ceil_mode=1)],
        [("x", x)], ref_maxpool(x, (2, 3), (2, 2), ceil=True))

    # dilations 2 (opset 14)
    r = rng_for("maxpool_dilation")
    x = randn(r, 2, 3, 8, 8)
    add("maxpool_dilation", 14,
        [N("MaxPool", ["x"], ["y"], "mp_dil", kernel_shape=[2, 2], dilations=[2, 2],
           strides=[1, 1])],
        [("x", x)], ref_maxpool(x, (2, 2), (1, 1), dil=(2, 2)))

    # auto_pad SAME_UPPER / SAME_LOWER (padding acts as -inf)
    for nm, opset, mode in [("maxpool_same_upper", 15, "SAME_UPPER"),
                            ("maxpool_same_lower", 17, "SAME_LOWER")]:
        r = rng_for(nm)
        x = randn(r, 2, 3, 8, 7) - 3.0  # mostly negative: wrong zero padding would show
        pads = same_pads((8, 7), (3, 3), (2, 2), (1, 1), mode == "SAME_UPPER")
        add(nm, opset,
            [N("MaxPool", ["x"], ["y"], "mp_" + mode.lower(), kernel_shape=[3, 3],
               strides=[2, 2], auto_pad=mode)],
            [("x", x)], ref_maxpool(x, (3, 3), (2, 2), pads))

    # explicit asymmetric pads, negative inputs (opset 16)
    r = rng_for("maxpool_asym_pads")
    x = randn(r, 2, 3, 6, 6) - 3.0
    pads = [1, 0, 0, 1]
    add("maxpool_asym_pads", 16,
        [N("MaxPool", ["x"], ["y"], "mp_asym", kernel_shape=[2, 2], strides=[2, 2], pads=pads)],
        [("x", x)], ref_maxpool(x, (2, 2), (2, 2), pads))

    r = rng_for("avgpool_2x2")
    x = randn(r, 2, 3, 8, 8)
    add("avgpool_2x2", 11,
        [N("AveragePool", ["x"], ["y"], "ap", kernel_shape=[2, 2], strides=[2, 2])],
        [("x", x)], ref_avgpool(x, (2, 2), (2, 2)))

    # count_include_pad=1 with pads (opset 12)
    r = rng_for("avgpool_pad_include")
    x = randn(r, 2, 3, 6, 6) + 1.0
    add("avgpool_pad_include", 12,
        [N("AveragePool", ["x"], ["y"], "ap_inc", kernel_shape=[3, 3], strides=[1, 1],
           pads=[1, 1, 1, 1], count_include_pad=1)],
        [("x", x)], ref_avgpool(x, (3, 3), (1, 1), (1, 1, 1, 1), include_pad=True))

    # count_include_pad=0 (default) with asymmetric pads, stride 2 (opset 13)
    r = rng_for("avgpool_pad_exclude")
    x = randn(r, 2, 3, 7, 7) + 1.0
    pads = [1, 0, 1, 2]
    add("avgpool_pad_exclude", 13,
        [N("AveragePool", ["x"], ["y"], "ap_exc", kernel_shape=[3, 3], strides=[2, 2],
           pads=pads, count_include_pad=0)],
        [("x", x)], ref_avgpool(x, (3, 3), (2, 2), pads, include_pad=False))

    # count_include_pad=1 with asymmetric pads (opset 15)
    r = rng_for("avgpool_pad_include_asym")
    x = randn(r, 2, 2, 5, 6) + 1.0
    pads = [0, 2, 1, 1]
    add("avgpool_pad_include_asym", 15,
        [N("AveragePool", ["x"], ["y"], "ap_inc_asym", kernel_shape=[2, 3], strides=[2, 1],
           pads=pads, count_include_pad=1)],
        [("x", x)], ref_avgpool(x, (2, 3), (2, 1), pads, include_pad=True))

    # ceil_mode=1, no pads: the last window overhangs; divisor = in-bounds count (opset 16)
    r = rng_for("avgpool_ceil")
    x = randn(r, 2, 3, 7, 7) + 1.0
    add("avgpool_ceil", 16,
        [N("AveragePool", ["x"], ["y"], "ap_ceil", kernel_shape=[2, 2], strides=[2, 2],
           ceil_mode=1)],
        [("x", x)], ref_avgpool(x, (2, 2), (2, 2), ceil=True))

    # GlobalAveragePool, batch 1 (opset 14)
    r = rng_for("global_avgpool_b1")
    x = randn(r, 1, 5, 6, 7)
    add("global_avgpool_b1", 14, [N("GlobalAveragePool", ["x"], ["y"], "gap")],
        [("x", x)], d(x).mean(dim=(2, 3), keepdim=True))

    r = rng_for("global_avgpool")
    x = randn(r, 3, 4, 5, 5)
    add("global_avgpool", 11, [N("GlobalAveragePool", ["x"], ["y"], "gap")],
        [("x", x)], d(x).mean(dim=(2, 3), keepdim=True))


def bn_cases():
    # Conv -> BN (importer folds) (opset 11)
    r = rng_for("conv_bn")
    x, w, b = randn(r, 2, 3, 6, 6), randn(r, 4, 3, 3, 3, scale=0.3), randn(r, 4, scale=0.1)
    sc, bi, mu, var = bn_params(r, 4)
    y = ref_bn(ref_conv(x, w, b, pads=(1, 1, 1, 1)), sc, bi, mu, var, 1e-5)
    add("conv_bn", 11,
        [N("Conv", ["x", "W", "B"], ["c"], "conv0", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
         N("BatchNormalization", ["c", "sc", "bi", "mu", "var"], ["y"], "bn0")],
        [("x", x)], y,
        [init("W", w), init("B", b), init("sc", sc), init("bi", bi), init("mu", mu),
         init("var", var)])

    # Conv (no bias) -> BN (epsilon 1e-3) -> Relu (opset 17)
    r = rng_for("conv_nobias_bn_relu")
    x, w = randn(r, 2, 4, 5, 5), randn(r, 6, 4, 3, 3, scale=0.3)
    sc, bi, mu, var = bn_params(r, 6)
    y = torch.relu(ref_bn(ref_conv(x, w, None), sc, bi, mu, var, 1e-3))
    add("conv_nobias_bn_relu", 17,
        [N("Conv", ["x", "W"], ["c"], "conv0", kernel_shape=[3, 3]),
         N("BatchNormalization", ["c", "sc", "bi", "mu", "var"], ["b"], "bn0", epsilon=1e-3),
         N("Relu", ["b"], ["y"], "relu0")],
        [("x", x)], y,
        [init("W", w), init("sc", sc), init("bi", bi), init("mu", mu), init("var", var)])

    # Gemm -> BN on [N, C] (importer folds) (opset 13)
    r = rng_for("gemm_bn")
    a, bw, c = randn(r, 3, 6), randn(r, 5, 6), randn(r, 5)
    sc, bi, mu, var = bn_params(r, 5)
    y = ref_bn(d(a) @ d(bw).T + d(c), sc, bi, mu, var, 1e-5)
    add("gemm_bn", 13,
        [N("Gemm", ["a", "B", "C"], ["g"], "fc0", transB=1),
         N("BatchNormalization", ["g", "sc", "bi", "mu", "var"], ["y"], "bn1d")],
        [("a", a)], y,
        [init("B", bw), init("C", c), init("sc", sc), init("bi", bi), init("mu", mu),
         init("var", var)])

    # Add -> BN: cannot be folded, must run standalone (opset 14, training_mode attr = 0)
    r = rng_for("add_bn_standalone")
    x, z = randn(r, 2, 3, 4, 4), randn(r, 2, 3, 4, 4)
    sc, bi, mu, var = bn_params(r, 3)
    y = ref_bn(d(x) + d(z), sc, bi, mu, var, 1e-5)
    add("add_bn_standalone", 14,
        [N("Add", ["x", "z"], ["s"], "add0"),
         N("BatchNormalization", ["s", "sc", "bi", "mu", "var"], ["y"], "bn_after_add",
           training_mode=0)],
        [("x", x), ("z", z)], y,
        [init("sc", sc), init("bi", bi), init("mu", mu), init("var", var)])

    # BN directly on the graph input (opset 15)
    r = rng_for("bn_at_input")
    x = randn(r, 2, 3, 5, 5, scale=2.0)
    sc, bi, mu, var = bn_params(r, 3)
    add("bn_at_input", 15,
        [N("BatchNormalization", ["x", "sc", "bi", "mu", "var"], ["y"], "bn_in", epsilon=1e-4)],
        [("x", x)], ref_bn(x, sc, bi, mu, var, 1e-4),
        [init("sc", sc), init("bi", bi), init("mu", mu), init("var", var)])

    # BN on the graph input, then Conv (still standalone: BN precedes, not follows) (opset 12)
    r = rng_for("bn_then_conv")
    x, w = randn(r, 2, 3, 6, 6), randn(r, 4, 3, 3, 3, scale=0.3)
    sc, bi, mu, var = bn_params(r, 3)
    y = F.conv2d(F.pad(ref_bn(x, sc, bi, mu, var, 1e-5), (1, 1, 1, 1)), d(w))
    add("bn_then_conv", 12,
        [N("BatchNormalization", ["x", "sc", "bi", "mu", "var"], ["b"], "bn_first"),
         N("Conv", ["b", "W"], ["y"], "conv_after_bn", kernel_shape=[3, 3], pads=[1, 1, 1, 1])],
        [("x", x)], y,
        [init("sc", sc), init("bi", bi), init("mu", mu), init("var", var), init("W", w)])


def shape_cases():
    r = rng_for("flatten_axis1")
    x = randn(r, 2, 3, 4, 5)
    add("flatten_axis1", 11, [N("Flatten", ["x"], ["y"], "flat", axis=1)],
        [("x", x)], d(x).reshape(2, -1))

    # default axis (=1) attribute omitted, 2-D result from 3-D input (opset 14)
    r = rng_for("flatten_default")
    x = randn(r, 3, 4, 5)
    add("flatten_default", 14, [N("Flatten", ["x"], ["y"], "flat_def")],
        [("x", x)], d(x).reshape(3, -1))

    # axis=2: merges batch and channels -> dim 0 is N*C (no dynamic batch) (opset 13)
    r = rng_for("flatten_axis2")
    x = randn(r, 2, 3, 4, 5)
    add("flatten_axis2", 13, [N("Flatten", ["x"], ["y"], "flat2", axis=2)],
        [("x", x)], d(x).reshape(6, 20), dyn_batch=False)

    # negative axis -3 on 4-D (== 1) (opset 16)
    r = rng_for("flatten_neg_axis")
    x = randn(r, 2, 3, 4, 5)
    add("flatten_neg_axis", 16, [N("Flatten", ["x"], ["y"], "flat_neg", axis=-3)],
        [("x", x)], d(x).reshape(2, -1))

    # Reshape with [0, -1] (raw_data int64 initializer) (opset 12)
    r = rng_for("reshape_0_neg1")
    x = randn(r, 2, 3, 4, 5)
    add("reshape_0_neg1", 12, [N("Reshape", ["x", "shape"], ["y"], "rs")],
        [("x", x)], d(x).reshape(2, -1), [init("shape", i64(0, -1))])

    # Reshape with 0 and -1 in the middle, shape stored as typed int64_data (opset 14)
    r = rng_for("reshape_zero_typed")
    x = randn(r, 2, 3, 4, 5)
    add("reshape_zero_typed", 14, [N("Reshape", ["x", "shape"], ["y"], "rs_typed")],
        [("x", x)], d(x).reshape(2, 3, 10, 2), [init("shape", i64(0, 0, -1, 2), typed=True)])

    # Reshape [N, 60] -> [N, 3, 4, 5] with explicit dims and -1 for the batch (opset 17)
    r = rng_for("reshape_unflatten")
    x = randn(r, 3, 60)
    add("reshape_unflatten", 17, [N("Reshape", ["x", "shape"], ["y"], "rs_unflat")],
        [("x", x)], d(x).reshape(3, 3, 4, 5), [init("shape", i64(-1, 3, 4, 5))])

    r = rng_for("transpose_nhwc")
    x = randn(r, 2, 3, 4, 5)
    add("transpose_nhwc", 11, [N("Transpose", ["x"], ["y"], "tr", perm=[0, 2, 3, 1])],
        [("x", x)], d(x).permute(0, 2, 3, 1))

    r = rng_for("transpose_hw")
    x = randn(r, 2, 3, 4, 5)
    add("transpose_hw", 15, [N("Transpose", ["x"], ["y"], "tr_hw", perm=[0, 1, 3, 2])],
        [("x", x)], d(x).permute(0, 1, 3, 2))

    # 3-D transpose [N, T, F] -> [N, F, T] (opset 13)
    r = rng_for("transpose_3d")
    x = randn(r, 2, 6, 4)
    add("transpose_3d", 13, [N("Transpose", ["x"], ["y"], "tr3", perm=[0, 2, 1])],
        [("x", x)], d(x).permute(0, 2, 1))

    # Concat on channels, two dynamic inputs (opset 11)
    r = rng_for("concat_axis1")
    x, z = randn(r, 2, 3, 4, 4), randn(r, 2, 5, 4, 4)
    add("concat_axis1", 11, [N("Concat", ["x", "z"], ["y"], "cat", axis=1)],
        [("x", x), ("z", z)], torch.cat([d(x), d(z)], 1))

    # Concat on W with a constant initializer as second operand (opset 13)
    r = rng_for("concat_axis3_const")
    x, c = randn(r, 2, 3, 4, 4), randn(r, 2, 3, 4, 2)
    add("concat_axis3_const", 13, [N("Concat", ["x", "c"], ["y"], "cat_w", axis=3)],
        [("x", x)], torch.cat([d(x), d(c)], 3), [init("c", c)], dyn_batch=False)

    # Concat of three inputs with negative axis -2 (H) (opset 16)
    r = rng_for("concat_three_neg_axis")
    a, b, c = randn(r, 2, 3, 1, 4), randn(r, 2, 3, 2, 4), randn(r, 2, 3, 3, 4)
    add("concat_three_neg_axis", 16, [N("Concat", ["a", "b", "c"], ["y"], "cat3", axis=-2)],
        [("a", a), ("b", b), ("c", c)], torch.cat([d(a), d(b), d(c)], 2))

    # Concat on axis 0 (batch) (opset 12)
    r = rng_for("concat_axis0")
    a, b = randn(r, 2, 3, 4), randn(r, 1, 3, 4)
    add("concat_axis0", 12, [N("Concat", ["a", "b"], ["y"], "cat0", axis=0)],
        [("a", a), ("b", b)], torch.cat([d(a), d(b)], 0), dyn_batch=False)


def softmax_cases():
    r = rng_for("softmax_axis1_op11")
    x = randn(r, 2, 3, 4, 5, scale=2.0)
    # opset 11/12: coerce to 2-D [N, C*H*W] at axis 1, softmax over the flattened rows
    y = F.softmax(d(x).reshape(2, -1), dim=1).reshape(x.shape)
    add("softmax_axis1_op11", 11, [N("Softmax", ["x"], ["y"], "sm", axis=1)],
        [("x", x)], y)

    r = rng_for("softmax_axis1_op13")
    x = randn(r, 2, 3, 4, 5, scale=2.0)
    # opset 13+: softmax along the channel axis only
    add("softmax_axis1_op13", 13, [N("Softmax", ["x"], ["y"], "sm", axis=1)],
        [("x", x)], F.softmax(d(x), dim=1))

    # 2-D logits, default axis (1 in opset 12) (opset 12)
    r = rng_for("softmax_2d_op12")
    x = randn(r, 3, 10, scale=3.0)
    add("softmax_2d_op12", 12, [N("Softmax", ["x"], ["y"], "sm")],
        [("x", x)], F.softmax(d(x), dim=1))

    # 4-D, default axis (-1 in opset 13+) (opset 17)
    r = rng_for("softmax_default_op17")
    x = randn(r, 2, 3, 4, 5, scale=2.0)
    add("softmax_default_op17", 17, [N("Softmax", ["x"], ["y"], "sm")],
        [("x", x)], F.softmax(d(x), dim=-1))

    # opset 11 with axis=2 on 4-D: rows of H*W per (N, C) (opset 11)
    r = rng_for("softmax_axis2_op11")
    x = randn(r, 2, 3, 4, 5, scale=2.0)
    y = F.softmax(d(x).reshape(6, 20), dim=1).reshape(x.shape)
    add("softmax_axis2_op11", 11, [N("Softmax", ["x"], ["y"], "sm", axis=2)],
        [("x", x)], y)


def pad_cases():
    # constant mode with a value, pads include the channel axis (opset 11)
    r = rng_for("pad_constant")
    x = randn(r, 2, 3, 4, 5)
    pads = [0, 1, 2, 0, 0, 0, 1, 3]
    add("pad_constant", 11, [N("Pad", ["x", "pads", "cval"], ["y"], "pad_c", mode="constant")],
        [("x", x)], F.pad(d(x), onnx_pads_to_torch(pads), value=1.5),
        [init("pads", i64(*pads)), init("cval", np.array(1.5, np.float32))])

    # constant mode, default value 0, mode attribute omitted (opset 17)
    r = rng_for("pad_constant_default")
    x = randn(r, 2, 3, 4, 5)
    pads = [0, 0, 1, 1, 0, 0, 1, 1]
    add("pad_constant_default", 17, [N("Pad", ["x", "pads"], ["y"], "pad_c0")],
        [("x", x)], F.pad(d(x), onnx_pads_to_torch(pads)), [init("pads", i64(*pads))])

    # reflect (opset 13)
    r = rng_for("pad_reflect")
    x = randn(r, 2, 3, 4, 5)
    pads = [0, 0, 1, 2, 0, 0, 2, 1]
    add("pad_reflect", 13, [N("Pad", ["x", "pads"], ["y"], "pad_r", mode="reflect")],
        [("x", x)], F.pad(d(x), spatial_pads(pads), mode="reflect"),
        [init("pads", i64(*pads))])

    # edge (opset 15)
    r = rng_for("pad_edge")
    x = randn(r, 2, 3, 4, 5)
    pads = [0, 0, 2, 0, 0, 0, 1, 3]
    add("pad_edge", 15, [N("Pad", ["x", "pads"], ["y"], "pad_e", mode="edge")],
        [("x", x)], F.pad(d(x), spatial_pads(pads), mode="replicate"),
        [init("pads", i64(*pads))])

    # pads from a Constant node (value_ints) (opset 12)
    r = rng_for("pad_pads_constnode")
    x = randn(r, 2, 3, 4, 5)
    pads = [0, 0, 1, 0, 0, 0, 0, 2]
    add("pad_pads_constnode", 12,
        [N("Constant", [], ["pads"], "pads_const", value_ints=pads),
         N("Pad", ["x", "pads"], ["y"], "pad_cn", mode="constant")],
        [("x", x)], F.pad(d(x), onnx_pads_to_torch(pads)))


def misc_cases():
    r = rng_for("identity")
    x = randn(r, 2, 3, 4, 5)
    add("identity", 13, [N("Identity", ["x"], ["y"], "id0")], [("x", x)], d(x))

    # Identity between two ops (opset 16)
    r = rng_for("identity_chain")
    x = randn(r, 2, 3, 4)
    add("identity_chain", 16,
        [N("Relu", ["x"], ["a"], "r0"), N("Identity", ["a"], ["b"], "id0"),
         N("Sigmoid", ["b"], ["y"], "s0")],
        [("x", x)], torch.sigmoid(torch.relu(d(x))))

    # Dropout opset 11: ratio attribute
    r = rng_for("dropout_op11")
    x = randn(r, 2, 3, 4, 5)
    add("dropout_op11", 11,
        [N("Dropout", ["x"], ["a"], "drop", ratio=0.3), N("Relu", ["a"], ["y"], "r")],
        [("x", x)], torch.relu(d(x)))

    # Dropout opset 12+: ratio as an input (scalar initializer) (opset 12)
    r = rng_for("dropout_op12_ratio_input")
    x = randn(r, 3, 8)
    add("dropout_op12_ratio_input", 12,
        [N("Dropout", ["x", "ratio"], ["y"], "drop")],
        [("x", x)], d(x), [init("ratio", np.array(0.5, np.float32))])

    # Dropout opset 13 with the optional mask output present (unused by the graph)
    r = rng_for("dropout_op13_mask")
    x = randn(r, 2, 4, 3, 3)
    add("dropout_op13_mask", 13,
        [N("Dropout", ["x"], ["a", "mask"], "drop"), N("Identity", ["a"], ["y"], "id")],
        [("x", x)], d(x))

    # Constant value tensor (float [C,1,1]) feeding Add (opset 11)
    r = rng_for("constant_value_tensor")
    x, c = randn(r, 2, 3, 4, 4), randn(r, 3, 1, 1)
    add("constant_value_tensor", 11,
        [N("Constant", [], ["c"], "cst", value=numpy_helper.from_array(c, "c_val")),
         N("Add", ["x", "c"], ["y"], "add0")],
        [("x", x)], d(x) + d(c))

    # Constant value_float (scalar) feeding Mul (opset 12)
    r = rng_for("constant_value_float")
    x = randn(r, 2, 3, 4, 4)
    add("constant_value_float", 12,
        [N("Constant", [], ["s"], "cst_f", value_float=0.125),
         N("Mul", ["x", "s"], ["y"], "mul0")],
        [("x", x)], d(x) * 0.125)

    # Constant value_floats ([W]) feeding Mul (broadcast along W) (opset 13)
    r = rng_for("constant_value_floats")
    x = randn(r, 2, 3, 4, 5)
    v = [0.5, -1.0, 2.0, 0.25, 3.0]
    add("constant_value_floats", 13,
        [N("Constant", [], ["v"], "cst_fs", value_floats=v),
         N("Mul", ["x", "v"], ["y"], "mul0")],
        [("x", x)], d(x) * d(f32(*v)))

    # Constant value_ints feeding Reshape (opset 14)
    r = rng_for("constant_value_ints_reshape")
    x = randn(r, 2, 3, 4, 5)
    add("constant_value_ints_reshape", 14,
        [N("Constant", [], ["shape"], "cst_is", value_ints=[0, 12, -1]),
         N("Reshape", ["x", "shape"], ["y"], "rs")],
        [("x", x)], d(x).reshape(2, 12, 5))

    # Constant value_int: a scalar int64 that nothing in the supported op set consumes, so it is
    # a dead node here (must be parsed and ignored); plus a value_float feeding Sub (opset 15)
    r = rng_for("constant_value_int_dead")
    x = randn(r, 2, 3, 4)
    add("constant_value_int_dead", 15,
        [N("Constant", [], ["unused_int"], "cst_i", value_int=7),
         N("Constant", [], ["s"], "cst_f", value_float=-0.5),
         N("Sub", ["x", "s"], ["y"], "sub0")],
        [("x", x)], d(x) + 0.5)

    # Initializers stored in typed fields (float_data / int64_data) instead of raw_data (opset 13)
    r = rng_for("init_typed_fields")
    x, w, b = randn(r, 2, 3, 5, 5), randn(r, 4, 3, 3, 3, scale=0.3), randn(r, 4, scale=0.1)
    g, gb = randn(r, 10, 4 * 3 * 3, scale=0.2), randn(r, 10, scale=0.1)
    conv = ref_conv(x, w, b)
    y = conv.reshape(2, -1) @ d(g).T + d(gb)
    add("init_typed_fields", 13,
        [N("Conv", ["x", "W", "B"], ["c"], "conv_typed", kernel_shape=[3, 3]),
         N("Reshape", ["c", "shape"], ["f"], "rs_typed"),
         N("Gemm", ["f", "G", "GB"], ["y"], "fc_typed", transB=1)],
        [("x", x)], y,
        [init("W", w, typed=True), init("B", b, typed=True), init("shape", i64(0, -1), typed=True),
         init("G", g, typed=True), init("GB", gb)])  # GB stays raw: mixed storage

    # Initializers also listed as graph inputs (old exporter style; they are NOT fed) (opset 11)
    r = rng_for("init_as_graph_input")
    x, w, b = randn(r, 2, 3, 5, 5), randn(r, 2, 3, 1, 1, scale=0.5), randn(r, 2, scale=0.1)
    add("init_as_graph_input", 11,
        [N("Conv", ["x", "W", "B"], ["y"], "conv0", kernel_shape=[1, 1])],
        [("x", x)], ref_conv(x, w, b), [init("W", w), init("B", b)], init_as_inputs=True)


# ----------------------------------------------------------------------------------------
# Small multi-op networks exported with torch.onnx.export
# ----------------------------------------------------------------------------------------


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 12, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(12)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(12 * 4 * 4, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.bn1(self.conv1(x))))
        x = self.pool(F.relu(self.bn2(self.conv2(x))))
        return self.fc(torch.flatten(x, 1))


class MobileBlock(nn.Module):
    """Inverted residual: 1x1 expand + BN + HardSwish, 3x3 depthwise + BN + HardSwish,
    1x1 project + BN, residual Add."""

    def __init__(self, c=8, e=16):
        super().__init__()
        self.expand = nn.Conv2d(c, e, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(e)
        self.dw = nn.Conv2d(e, e, 3, padding=1, groups=e, bias=False)
        self.bn2 = nn.BatchNorm2d(e)
        self.project = nn.Conv2d(e, c, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(c)
        self.act = nn.Hardswish()

    def forward(self, x):
        y = self.act(self.bn1(self.expand(x)))
        y = self.act(self.bn2(self.dw(y)))
        return x + self.bn3(self.project(y))


class ConcatGAP(nn.Module):
    def __init__(self):
        super().__init__()
        self.b1 = nn.Conv2d(3, 6, 3, padding=1)
        self.b2 = nn.Conv2d(3, 4, 1)
        self.bn = nn.BatchNorm2d(10)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(10, 5)

    def forward(self, x):
        y = torch.cat([F.relu(self.b1(x)), torch.sigmoid(self.b2(x))], dim=1)
        y = self.gap(F.relu(self.bn(y)))
        return self.fc(torch.flatten(y, 1))


def randomize_bn(module, gen):
    """Give BatchNorm layers non-trivial running statistics so folding is really tested."""
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.weight.copy_(torch.rand(c, generator=gen) + 0.5)
            m.bias.copy_(torch.randn(c, generator=gen) * 0.3)
            m.running_mean.copy_(torch.randn(c, generator=gen) * 0.3)
            m.running_var.copy_(torch.rand(c, generator=gen) * 1.5 + 0.3)


def export_net(name, module, in_shape, opset, tol=1e-4):
    torch.manual_seed(zlib.crc32(name.encode()) & 0x7FFFFFFF)
    gen = torch.Generator().manual_seed(zlib.crc32(name.encode()) & 0x7FFFFFFF)
    m = module()
    randomize_bn(m, gen)
    m.eval()
    x = torch.randn(*in_shape, generator=gen)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # PRESERVE (with the module in eval mode) exports in inference mode but skips torch's
        # eval-mode Conv+BN fusion peephole, so BatchNormalization nodes stay in the graph for
        # the importer to fold.
        torch.onnx.export(m, (x,), buf, opset_version=opset, input_names=["input"],
                          output_names=["output"],
                          dynamic_axes={"input": {0: "N"}, "output": {0: "N"}},
                          do_constant_folding=True,
                          training=torch.onnx.TrainingMode.PRESERVE)
    model = onnx.load_from_string(buf.getvalue())
    ref = m.double()(x.double())
    ops = sorted({n.op_type for n in model.graph.node})
    CASES.append(dict(name=name, opset=opset, model=model, inputs=[x.numpy().astype(np.float32)],
                      expected=np_(ref), tol=tol, ops=ops, batch=in_shape[0]))


def net_cases():
    export_net("net_small_cnn", SmallCNN, (2, 3, 16, 16), 13)
    export_net("net_mobilenet_block_op13", MobileBlock, (3, 8, 8, 8), 13)  # HardSigmoid+Mul
    export_net("net_mobilenet_block_op14", MobileBlock, (2, 8, 8, 8), 14)  # HardSwish op
    export_net("net_concat_gap_b1", ConcatGAP, (1, 3, 10, 10), 13)


# ----------------------------------------------------------------------------------------
# Bad models
# ----------------------------------------------------------------------------------------


def simple_model(nodes, inputs, outputs, inits=(), opset=13, name="bad"):
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=list(inits))
    ops = [helper.make_opsetid("", opset)]
    m = helper.make_model(graph, producer_name="xbarsim-make_op_fixtures", opset_imports=ops)
    m.ir_version = helper.find_min_ir_version_for(ops) if opset <= 17 else 8
    return m


def write_bad(outdir):
    os.makedirs(outdir, exist_ok=True)
    FL = TensorProto.FLOAT
    vi = helper.make_tensor_value_info
    readme = ["# Invalid / unsupported models for the importer's bad-input tests",
              "",
              "Generated by `tools/make_op_fixtures.py`. Each line: file - what the C++ importer "
              "must report (it must fail cleanly with a message naming these, never crash).",
              ""]

    # 1. unsupported op: Resize
    scales = numpy_helper.from_array(f32(1, 1, 2, 2), "scales")
    m = simple_model([N("Relu", ["x"], ["r"], "relu_before"),
                      N("Resize", ["r", "", "scales"], ["y"], "my_resize", mode="nearest")],
                     [vi("x", FL, ["N", 3, 4, 4])], [vi("y", FL, ["N", 3, 8, 8])], [scales])
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, os.path.join(outdir, "unsupported_op.onnx"))
    readme.append("- `unsupported_op.onnx` - valid opset-13 model; unsupported op type `Resize` "
                  "in node `my_resize`.")

    # 2. unsupported attribute: 3-D Conv
    w = numpy_helper.from_array(np.zeros((2, 1, 3, 3, 3), np.float32) + 0.1, "W3d")
    m = simple_model([N("Conv", ["x", "W3d"], ["y"], "conv3d_node", kernel_shape=[3, 3, 3])],
                     [vi("x", FL, ["N", 1, 5, 5, 5])], [vi("y", FL, ["N", 2, 3, 3, 3])], [w])
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, os.path.join(outdir, "unsupported_attribute.onnx"))
    readme.append("- `unsupported_attribute.onnx` - valid opset-13 model; op `Conv`, node "
                  "`conv3d_node`, attribute `kernel_shape` has 3 entries (only 2-D conv is "
                  "supported; the weight and input are 5-D).")

    # 3. Pad with mode "wrap" (only defined from opset 19; onnx 1.12 accepts the string)
    pads = numpy_helper.from_array(i64(0, 0, 1, 1, 0, 0, 1, 1), "pads")
    m = simple_model([N("Pad", ["x", "pads"], ["y"], "pad_wrap_node", mode="wrap")],
                     [vi("x", FL, ["N", 2, 4, 4])], [vi("y", FL, ["N", 2, 6, 6])], [pads])
    try:
        onnx.checker.check_model(m, full_check=True)
        wrap_note = "onnx 1.12's checker accepts it"
    except Exception as e:  # noqa: BLE001
        wrap_note = "onnx 1.12's checker rejects it (%s)" % type(e).__name__
    onnx.save(m, os.path.join(outdir, "pad_wrap_mode.onnx"))
    readme.append("- `pad_wrap_mode.onnx` - opset-13 model; op `Pad`, node `pad_wrap_node`, "
                  "attribute `mode` = `wrap` (only constant/reflect/edge are supported; `wrap` "
                  "exists in ONNX only from opset 19; %s)." % wrap_note)

    # 4. opset out of range: 9 (valid model) and 18 (declared; onnx 1.12 cannot check it)
    m = simple_model([N("Relu", ["x"], ["y"], "relu_op9")],
                     [vi("x", FL, ["N", 4])], [vi("y", FL, ["N", 4])], opset=9)
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, os.path.join(outdir, "bad_opset.onnx"))
    readme.append("- `bad_opset.onnx` - valid model with a single `Relu` (node `relu_op9`) at "
                  "default-domain opset 9; importer must report the opset (9) is outside the "
                  "supported range 11-17.")
    m = simple_model([N("Relu", ["x"], ["y"], "relu_op18")],
                     [vi("x", FL, ["N", 4])], [vi("y", FL, ["N", 4])], opset=18)
    onnx.save(m, os.path.join(outdir, "bad_opset18.onnx"))
    readme.append("- `bad_opset18.onnx` - single `Relu` (node `relu_op18`) declaring "
                  "default-domain opset 18 (IR version 8); importer must report opset 18 is "
                  "outside 11-17.")

    # 5. not ONNX at all
    with open(os.path.join(outdir, "not_onnx.onnx"), "w") as f:
        f.write("this is not an ONNX model, just some text\n\x01\x02garbage 12345 }{][\n")
    readme.append("- `not_onnx.onnx` - plain text garbage; importer must report that the file "
                  "could not be parsed as an ONNX ModelProto (no crash).")

    # 6. initializer in external data, file absent
    t = TensorProto()
    t.name = "W_external"
    t.data_type = TensorProto.FLOAT
    t.dims.extend([4, 4])
    t.data_location = TensorProto.EXTERNAL
    for k, v in [("location", "W_external.bin"), ("offset", "0"), ("length", "64")]:
        e = t.external_data.add()
        e.key, e.value = k, v
    m = simple_model([N("MatMul", ["x", "W_external"], ["y"], "matmul_ext")],
                     [vi("x", FL, ["N", 4])], [vi("y", FL, ["N", 4])], [t])
    onnx.save(m, os.path.join(outdir, "external_data.onnx"))
    readme.append("- `external_data.onnx` - opset-13 MatMul (node `matmul_ext`) whose initializer "
                  "`W_external` has data_location EXTERNAL (location `W_external.bin`, absent); "
                  "importer must report external data is unsupported / missing, naming the "
                  "initializer.")

    # 7. values no trained network has (each must be an error naming the node or tensor)
    def bad(name, nodes, x_shape, y_shape, inits, note):
        m = simple_model(nodes, [vi("x", FL, x_shape)], [vi("y", FL, y_shape)], inits)
        onnx.save(m, os.path.join(outdir, name + ".onnx"))
        readme.append("- `%s.onnx` - %s" % (name, note))

    bad("zero_units", [N("Gemm", ["x", "W0"], ["y"], "gemm_zero", transB=1)], ["N", 4], ["N", 0],
        [numpy_helper.from_array(np.zeros((0, 4), np.float32), "W0")],
        "Gemm (node `gemm_zero`) with a [0, 4] weight: its output would be empty.")
    bad("duplicate_output", [N("Relu", ["x"], ["y"], "relu_first"), N("Relu", ["x"], ["y"], "relu_second")],
        ["N", 4], ["N", 4], [], "two Relu nodes both produce `y` (node `relu_second` is the second).")
    w = np.full((2, 1, 3, 3), 0.1, np.float32)
    w[1, 0, 2, 2] = np.nan
    bad("nan_weight", [N("Conv", ["x", "Wn"], ["y"], "conv_nan", kernel_shape=[3, 3])], ["N", 1, 5, 5], ["N", 2, 3, 3],
        [numpy_helper.from_array(w, "Wn")], "Conv (node `conv_nan`) whose weight `Wn` holds a NaN at element 17.")
    bn = [numpy_helper.from_array(np.array(v, np.float32), n)
          for n, v in [("g", [1, 1]), ("b", [0, 0]), ("mu", [0, 0]), ("var", [1, -1])]]
    bad("negative_variance", [N("BatchNormalization", ["x", "g", "b", "mu", "var"], ["y"], "bn_neg")],
        ["N", 2, 3, 3], ["N", 2, 3, 3], bn, "BatchNormalization (node `bn_neg`) with variance -1 at channel 1.")
    huge = TensorProto()
    huge.name = "huge_dims"
    huge.data_type = TensorProto.FLOAT
    huge.dims.extend([2 ** 62 + 1])
    huge.raw_data = b"\0\0\0\0"
    bad("huge_dims", [N("Relu", ["x"], ["y"], "relu_ok")], ["N", 4], ["N", 4], [huge],
        "an unused initializer `huge_dims` of dimensions [2^62 + 1] (4 bytes of data): the element "
        "count must not wrap.")
    bad("transpose_repeated_axis", [N("Transpose", ["x"], ["y"], "transpose_rep", perm=[0, 1, 1])], ["N", 2, 3],
        ["N", 2, 2], [], "Transpose (node `transpose_rep`) whose perm [0, 1, 1] names axis 1 twice.")
    bad("pool_pads_too_wide", [N("MaxPool", ["x"], ["y"], "pool_wide", kernel_shape=[2, 2], pads=[2, 2, 2, 2])],
        ["N", 1, 4, 4], ["N", 1, 7, 7], [], "MaxPool (node `pool_wide`) with pads 2 as wide as its 2x2 kernel.")
    bad("softmax_bad_axis", [N("Softmax", ["x"], ["y"], "softmax_axis5", axis=5)], ["N", 4], ["N", 4], [],
        "Softmax (node `softmax_axis5`) with axis 5 on a rank-2 input.")
    # A node name that is not UTF-8: patched into the bytes (protobuf's Python API only takes str).
    m = simple_model([N("Relu", ["x"], ["y"], "NAMEXX")], [vi("x", FL, ["N", 4])], [vi("y", FL, ["N", 4])])
    data = m.SerializeToString()
    assert data.count(b"NAMEXX") == 1
    with open(os.path.join(outdir, "non_utf8_name.onnx"), "wb") as f:
        f.write(data.replace(b"NAMEXX", b"NAM\xff\xfeX"))
    readme.append("- `non_utf8_name.onnx` - a Relu node (node 0) whose name holds the bytes FF FE, not UTF-8.")

    with open(os.path.join(outdir, "README.md"), "w") as f:
        f.write("\n".join(readme) + "\n")
    return sorted(os.listdir(outdir))


# ----------------------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------------------


def check_case(c):
    m = c["model"]
    onnx.checker.check_model(m, full_check=True)
    # the declared output must match the reference shape (batch may be symbolic)
    out = m.graph.output[0].type.tensor_type.shape.dim
    exp = c["expected"].shape
    assert len(out) == len(exp), (c["name"], out, exp)
    for dd, e in zip(out, exp):
        assert (dd.HasField("dim_param") or dd.dim_value == e), (c["name"], out, exp)
    fed = [i for i in m.graph.input if i.name not in {t.name for t in m.graph.initializer}]
    assert len(fed) == len(c["inputs"]), c["name"]
    for vi_, a in zip(fed, c["inputs"]):
        dims = vi_.type.tensor_type.shape.dim
        assert len(dims) == a.ndim and all(
            dd.HasField("dim_param") or dd.dim_value == s for dd, s in zip(dims, a.shape)), c["name"]
    assert np.all(np.isfinite(c["expected"])), c["name"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="tests/fixtures", help="fixture root (ops/ and bad/ inside)")
    ap.add_argument("--bad-only", action="store_true", help="write only bad/ (needs onnx, not torch)")
    args = ap.parse_args()
    if args.bad_only:
        print("bad models: %s" % " ".join(write_bad(os.path.join(args.out, "bad"))))
        return 0

    for fn in (conv_cases, gemm_matmul_cases, elementwise_cases, activation_cases, pool_cases,
               bn_cases, shape_cases, softmax_cases, pad_cases, misc_cases, net_cases):
        fn()

    names = [c["name"] for c in CASES]
    assert len(names) == len(set(names)), "duplicate case names"

    ops_dir = os.path.join(args.out, "ops")
    os.makedirs(ops_dir, exist_ok=True)
    # remove stale outputs of this generator
    for f in os.listdir(ops_dir):
        if f.endswith((".onnx", ".npy")) or f == "manifest.txt":
            os.remove(os.path.join(ops_dir, f))

    manifest = []
    for c in CASES:
        check_case(c)
        onnx.save(c["model"], os.path.join(ops_dir, c["name"] + ".onnx"))
        for i, a in enumerate(c["inputs"]):
            np.save(os.path.join(ops_dir, "%s.in%d.npy" % (c["name"], i)),
                    np.ascontiguousarray(a, dtype=np.float32))
        np.save(os.path.join(ops_dir, c["name"] + ".out.npy"),
                np.ascontiguousarray(c["expected"], dtype=np.float32))
        manifest.append("%s %d %d %g" % (c["name"], c["opset"], len(c["inputs"]), c["tol"]))
    with open(os.path.join(ops_dir, "manifest.txt"), "w") as f:
        f.write("\n".join(manifest) + "\n")

    bad = write_bad(os.path.join(args.out, "bad"))

    # summary
    print("%-28s %5s %3s %6s %-12s %s" % ("case", "opset", "in", "tol", "out shape", "ops"))
    for c in CASES:
        print("%-28s %5d %3d %6g %-12s %s" % (c["name"], c["opset"], len(c["inputs"]), c["tol"],
                                             "x".join(map(str, c["expected"].shape)),
                                             ",".join(c["ops"])))
    by_opset = {}
    for c in CASES:
        by_opset[c["opset"]] = by_opset.get(c["opset"], 0) + 1
    all_ops = sorted({o for c in CASES for o in c["ops"]})
    total = 0
    for root in (ops_dir, os.path.join(args.out, "bad")):
        for f in os.listdir(root):
            total += os.path.getsize(os.path.join(root, f))
    print()
    print("%d op cases; per opset: %s" % (len(CASES),
                                          ", ".join("%d:%d" % kv for kv in sorted(by_opset.items()))))
    print("ops covered: %s" % " ".join(all_ops))
    print("bad models: %s" % " ".join(bad))
    print("total fixture size: %.1f KiB" % (total / 1024.0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
