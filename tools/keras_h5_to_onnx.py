#!/usr/bin/env python3
"""Convert Sandia CrossSim's pretrained Keras 2.4 .h5 models to ONNX for xbarsim, and build an
independent NumPy reference (accuracy table + C++ test fixtures).

Run with the system Python that has h5py/onnx/numpy (and torch for --verify):

    /usr/bin/python3 tools/keras_h5_to_onnx.py --models-dir /work/shared/models/crosssim-keras \\
        --data-dir /work/shared/data --out models --fixtures tests/fixtures/models --verify

No TensorFlow/Keras is needed: the architecture is read from the root attribute `model_config` (JSON,
Keras Functional model; `inbound_nodes` give the edges) and the weights from
/model_weights/<layer>/<layer>/<param>:0. The conversion is driven by the config, layer by layer; only
the file list, dataset and expected accuracies below are per model.

Conversion choices
* NCHW. Keras stores activations NHWC; ONNX Conv/Pool/BatchNormalization are defined on NCHW, which is
  what the xbarsim importer consumes. The graph input is `input` [N, C, H, W]; Conv kernels are
  transposed HWIO -> OIHW. Nothing else in the graph depends on the layout except Flatten (below).
* Flatten row permutation. Keras flattens NHWC in (H, W, C) order, ONNX Flatten of NCHW gives
  (C, H, W) order. Rather than inserting a Transpose, the rows of the following Dense kernel ([in, out])
  are permuted so that Gemm(flatten_nchw(x)) == Dense(flatten_nhwc(x)) exactly. The flattened tensor may
  pass through element-wise layers (ReLU, noise, dropout) before the Dense; any other consumer of a
  non-trivially permuted flatten is refused with an error.
* TensorFlow "same" padding. Total padding per spatial axis is max((out-1)*stride + eff_k - in, 0) with
  out = ceil(in/stride) and eff_k = (k-1)*dilation+1; the smaller half goes top/left. For stride-2 3x3
  convolutions on even sizes this is 0 top/left and 1 bottom/right, which ONNX's auto_pad=SAME_UPPER
  would also give, but explicit asymmetric `pads` [top, left, bottom, right] are emitted so importers
  never have to guess. Pool "same" padding works the same way (padded cells ignored, as in TF).
* BatchNormalization stays a BatchNormalization node (the C++ importer folds it). Dense -> Gemm with
  transB=1 (weights [out, in]). ReLU(max_value=m) -> Clip(x, 0, m) with min/max initializers (opset 13).
  GaussianNoise/Dropout/linear activations are identities at inference and emit no node. A layer's own
  `activation` argument (e.g. the ResNets' Dense(softmax)) becomes a separate node "<layer>_<act>".
* Names: node = Keras layer name; tensor = producing layer's name; weights "<layer>.<param>"; the
  tensor entering the final Softmax is `logits`, the graph output `probabilities`.
* Preprocessing travels in metadata_props["xbarsim.preprocess"] (YAML):
  x[c,h,w] = ((p[c,h,w] - mean_image[c,h,w]) * scale - mean[c]) / std[c].

Reference: a float32 NumPy forward pass in NHWC with Keras semantics, straight from the h5 weights
(it never looks at the ONNX graph). `--verify` then runs the written ONNX file with a small NCHW
interpreter on torch.nn.functional and compares it with the reference on the 16 fixture images.
"""
import argparse, copy, gzip, hashlib, json, os, shutil, sys, time
import numpy as np

SOURCE_REPO = "sandialabs/cross-sim-models commit 3e191844361e356658353e0512da73fa57107659"
SCALE = 1.0 / 255.0  # repr() = 0.00392156862745098
# stem -> (h5 file, dataset, expected float top-1 correct count out of 10,000 from the data README)
MODELS = {
    "mnist_cnn6": ("mnist_CNN6.h5", "mnist", 9857),
    "mnist_cnn6_v2": ("mnist_CNN6_v2.h5", "mnist", 9875),
    "resnet14v1_cifar10": ("resnet14v1_cifar10.h5", "cifar10", 9054),
    "resnet20v1_cifar10": ("resnet20v1_cifar10.h5", "cifar10", 9130),
    "resnet32v1_cifar10": ("resnet32v1_cifar10.h5", "cifar10", 9186),
    "resnet56v1_cifar10": ("resnet56v1_cifar10.h5", "cifar10", 9231),
}
MEAN_IMAGE = "cifar10_x_train_mean.npy"
N_FIXTURE = 16
SUPPORTED = {"InputLayer", "Conv2D", "Dense", "BatchNormalization", "Activation", "ReLU", "Add",
             "MaxPooling2D", "AveragePooling2D", "Flatten", "GaussianNoise", "Dropout"}
IDENTITY = {"GaussianNoise", "Dropout"}


class ConversionError(Exception):
    pass


# ----------------------------------------------------------------------------------------------
# Keras .h5 parsing
# ----------------------------------------------------------------------------------------------
class Layer:
    def __init__(self, d, weights):
        self.cls, self.name, self.cfg = d["class_name"], d["name"], d["config"]
        nodes = d.get("inbound_nodes", [])
        if len(nodes) > 1:
            raise ConversionError(f"layer '{self.name}' ({self.cls}) is called {len(nodes)} times; "
                                  "shared layers are not supported")
        self.inputs = [n[0] for n in nodes[0]] if nodes else []
        self.w = weights  # param name ("kernel", "gamma", ...) -> float32 array

    def err(self, msg):
        return ConversionError(f"layer '{self.name}' ({self.cls}): {msg}")


class KerasModel:
    """Layers of a Keras Functional .h5 model in topological order, with their weights."""

    def __init__(self, path):
        import h5py
        with h5py.File(path, "r") as f:
            if "model_config" not in f.attrs:
                raise ConversionError(f"{path}: no 'model_config' attribute (not a Keras full-model .h5)")
            cfg = json.loads(f.attrs["model_config"])
            if cfg["class_name"] not in ("Functional", "Model"):
                raise ConversionError(f"{path}: model class {cfg['class_name']} not supported (need Functional)")
            mw = f["model_weights"] if "model_weights" in f else f
            layers = []
            for d in cfg["config"]["layers"]:
                if d["class_name"] not in SUPPORTED:
                    raise ConversionError(f"{path}: layer '{d['name']}' has unsupported class {d['class_name']}")
                w = {}
                if d["name"] in mw:
                    g = mw[d["name"]]
                    for wn in g.attrs.get("weight_names", []):
                        wn = wn.decode() if isinstance(wn, bytes) else wn
                        w[wn.split("/")[-1].split(":")[0]] = np.asarray(g[wn], dtype=np.float32)
                layers.append(Layer(d, w))
        self.outputs = [o[0] for o in cfg["config"]["output_layers"]]
        if len(self.outputs) != 1:
            raise ConversionError(f"{path}: exactly one model output supported, got {self.outputs}")
        # Topological order (Keras usually saves it that way already; don't rely on it).
        done, self.layers, pending = set(), [], list(layers)
        while pending:
            ready = [l for l in pending if all(i in done for i in l.inputs)]
            if not ready:
                raise ConversionError(f"{path}: cycle or dangling input among {[l.name for l in pending]}")
            for l in ready:
                self.layers.append(l); done.add(l.name); pending.remove(l)
        self.consumers = {l.name: sum(i == l.name for m in self.layers for i in m.inputs) for l in self.layers}

    def astype(self, dtype):
        """Shallow copy with all weights cast (float64 copy for the --verify precision check)."""
        km = copy.copy(self)
        km.layers = [copy.copy(l) for l in self.layers]
        for l in km.layers:
            l.w = {k: v.astype(dtype) for k, v in l.w.items()}
        return km


def activation_of(layer):
    """The activation a layer applies: Activation's, or Conv2D/Dense's fused `activation` argument."""
    act = layer.cfg.get("activation", "linear") if layer.cls in ("Activation", "Conv2D", "Dense") else "linear"
    if act not in ("linear", "relu", "softmax"):
        raise layer.err(f"activation '{act}' not supported (linear, relu, softmax)")
    return act


def spatial_params(layer, in_hw):
    """(kernel, strides, dilations, pads [t, l, b, r], out_hw) for Conv2D / pooling, TF padding rules."""
    c = layer.cfg
    if c.get("data_format", "channels_last") != "channels_last":
        raise layer.err("only data_format=channels_last supported")
    k = list(c["kernel_size"] if layer.cls == "Conv2D" else c["pool_size"])
    s = list(c.get("strides") or k)
    d = list(c.get("dilation_rate", [1, 1]))
    pads, out = [0, 0, 0, 0], []
    for ax in range(2):
        eff_k = (k[ax] - 1) * d[ax] + 1
        if c["padding"] == "same":
            o = -(-in_hw[ax] // s[ax])
            total = max((o - 1) * s[ax] + eff_k - in_hw[ax], 0)
            pads[ax], pads[ax + 2] = total // 2, total - total // 2
        elif c["padding"] == "valid":
            o = (in_hw[ax] - eff_k) // s[ax] + 1
        else:
            raise layer.err(f"padding '{c['padding']}' not supported")
        out.append(o)
    return k, s, d, pads, out


# ----------------------------------------------------------------------------------------------
# Keras -> ONNX
# ----------------------------------------------------------------------------------------------
def to_onnx(km, preprocess_yaml, source_text, dataset):
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    nodes, inits = [], []      # nodes as [op, name, inputs, outputs, attrs] until renaming
    name, shape, flat = {}, {}, {}  # per Keras layer: ONNX tensor, NHWC shape w/o batch, Flatten (H,W,C)

    def init(n, a):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(a, dtype=np.float32), n))
        return n

    def emit_act(act, x, out, node_name):
        if act == "relu":
            nodes.append(["Relu", node_name, [x], [out], {}])
        elif act == "softmax":
            nodes.append(["Softmax", node_name, [x], [out], {"axis": 1}])
        return out

    for L in km.layers:
        x = name[L.inputs[0]] if L.inputs else None
        s = shape[L.inputs[0]] if L.inputs else None
        fl = flat.get(L.inputs[0]) if L.inputs else None
        act = activation_of(L)
        out_shape, out_flat = s, None
        if fl is not None and fl[0] * fl[1] > 1 and fl[2] > 1 and not (
                L.cls in IDENTITY | {"ReLU", "Dense"} or (L.cls == "Activation" and act != "softmax")):
            raise L.err("consumes a Keras (H,W,C)-ordered Flatten output; only element-wise layers and "
                        "Dense may follow Flatten")
        if L.cls == "InputLayer":
            shp = L.cfg["batch_input_shape"][1:]
            if len(shp) != 3 or None in shp:
                raise L.err(f"input shape {shp} must be a fixed (H, W, C)")
            name[L.name], shape[L.name] = "input", tuple(shp)
            continue
        if L.cls in IDENTITY or (L.cls == "Activation" and act == "linear"):
            name[L.name], shape[L.name], flat[L.name] = x, s, fl
            continue
        y = L.name
        if L.cls == "Conv2D":
            if L.cfg.get("groups", 1) != 1:
                raise L.err("grouped convolution not supported")
            k, st, d, pads, out = spatial_params(L, s[:2])
            ins = [x, init(L.name + ".weight", L.w["kernel"].transpose(3, 2, 0, 1))]
            if L.cfg["use_bias"]:
                ins.append(init(L.name + ".bias", L.w["bias"]))
            pre = y if act == "linear" else y + "_preact"
            nodes.append(["Conv", L.name, ins, [pre], {"kernel_shape": k, "strides": st, "dilations": d,
                                                        "pads": pads, "group": 1}])
            emit_act(act, pre, y, f"{L.name}_{act}")
            out_shape = (out[0], out[1], L.cfg["filters"])
        elif L.cls == "Dense":
            if len(s) != 1:
                raise L.err(f"input must be 2-D (N, features), got NHWC shape {s}")
            K = L.w["kernel"]
            if fl is not None:  # rows in Keras (H,W,C) flatten order -> ONNX (C,H,W) order
                H, W, C = fl
                K = K.reshape(H, W, C, -1).transpose(2, 0, 1, 3).reshape(H * W * C, -1)
            b = L.w["bias"] if L.cfg["use_bias"] else np.zeros(K.shape[1], np.float32)
            pre = y if act == "linear" else y + "_preact"
            nodes.append(["Gemm", L.name, [x, init(L.name + ".weight", K.T), init(L.name + ".bias", b)],
                          [pre], {"transB": 1}])
            emit_act(act, pre, y, f"{L.name}_{act}")
            out_shape = (K.shape[1],)
        elif L.cls == "BatchNormalization":
            ax = L.cfg["axis"]
            ax = ax[0] if isinstance(ax, list) and len(ax) == 1 else ax
            if ax not in (-1, len(s)):
                raise L.err(f"axis {L.cfg['axis']} is not the channel (last) axis")
            C = s[-1]
            g = L.w["gamma"] if L.cfg.get("scale", True) else np.ones(C, np.float32)
            bt = L.w["beta"] if L.cfg.get("center", True) else np.zeros(C, np.float32)
            ins = [x] + [init(f"{L.name}.{p}", a) for p, a in
                         (("scale", g), ("B", bt), ("mean", L.w["moving_mean"]), ("var", L.w["moving_variance"]))]
            nodes.append(["BatchNormalization", L.name, ins, [y], {"epsilon": float(L.cfg["epsilon"])}])
        elif L.cls == "Activation":
            emit_act(act, x, y, L.name)
            out_flat = fl
        elif L.cls == "ReLU":
            if float(L.cfg.get("negative_slope") or 0) != 0 or float(L.cfg.get("threshold") or 0) != 0:
                raise L.err("negative_slope/threshold != 0 not supported")
            m = L.cfg.get("max_value")
            if m is None:
                nodes.append(["Relu", L.name, [x], [y], {}])
            else:
                nodes.append(["Clip", L.name, [x, init(L.name + ".min", np.float32(0)),
                                               init(L.name + ".max", np.float32(m))], [y], {}])
            out_flat = fl
        elif L.cls in ("MaxPooling2D", "AveragePooling2D"):
            k, st, _, pads, out = spatial_params(L, s[:2])
            op = "MaxPool" if L.cls == "MaxPooling2D" else "AveragePool"  # AveragePool excludes pads (TF)
            nodes.append([op, L.name, [x], [y], {"kernel_shape": k, "strides": st, "pads": pads}])
            out_shape = (out[0], out[1], s[2])
        elif L.cls == "Flatten":
            if len(s) == 1:
                name[L.name], shape[L.name] = x, s
                continue
            nodes.append(["Flatten", L.name, [x], [y], {"axis": 1}])
            out_shape, out_flat = (int(np.prod(s)),), tuple(s)
        elif L.cls == "Add":
            ins = [name[i] for i in L.inputs]
            if any(shape[i] != s for i in L.inputs) or any(flat.get(i) for i in L.inputs):
                raise L.err("inputs must have equal shapes and not come from Flatten")
            for j in range(1, len(ins)):  # ONNX Add is binary: chain n-ary Keras Add
                prev = ins[0] if j == 1 else f"{y}_{j - 1}"
                nodes.append(["Add", L.name if j == 1 else f"{L.name}_{j}", [prev, ins[j]],
                              [y if j == len(ins) - 1 else f"{y}_{j}"], {}])
        name[L.name], shape[L.name] = y, out_shape
        if out_flat is not None:
            flat[L.name] = out_flat

    # Name the final softmax's input `logits` and the graph output `probabilities`.
    out = name[km.outputs[0]]
    producer = [n for n in nodes if out in n[3]]
    if not producer or producer[0][0] != "Softmax":
        raise ConversionError(f"model output '{km.outputs[0]}' is not produced by a softmax")
    rename = {producer[0][2][0]: "logits", out: "probabilities"}
    nodes = [helper.make_node(op, [rename.get(t, t) for t in i], [rename.get(t, t) for t in o], name=n, **a)
             for op, n, i, o, a in nodes]
    H, W, C = shape[km.layers[0].name]
    n_out = shape[km.outputs[0]][0]
    graph = helper.make_graph(
        nodes, "xbarsim_" + os.path.basename(source_text["file"]).rsplit(".", 1)[0],
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", C, H, W])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", n_out])], inits)
    model = helper.make_model(graph, producer_name="xbarsim keras_h5_to_onnx", producer_version="1",
                              opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7  # understood by onnx >= 1.7 runtimes
    src = "".join(f"{k}: {v}\n" for k, v in source_text.items())
    helper.set_model_props(model, {"xbarsim.preprocess": preprocess_yaml, "xbarsim.source": src,
                                   "xbarsim.dataset": dataset})
    model = onnx.shape_inference.infer_shapes(model)  # adds value_info for intermediates
    onnx.checker.check_model(model, full_check=True)
    return model


# ----------------------------------------------------------------------------------------------
# Independent NumPy reference, NHWC, float32, Keras semantics
# ----------------------------------------------------------------------------------------------
def windows(xp, k, s, d):
    """View [N, OH, OW, KH, KW, C] of the sliding windows of a padded NHWC array."""
    N, H, W, C = xp.shape
    oh, ow = (H - (k[0] - 1) * d[0] - 1) // s[0] + 1, (W - (k[1] - 1) * d[1] - 1) // s[1] + 1
    sn, sh, sw, sc = xp.strides
    return np.lib.stride_tricks.as_strided(
        xp, (N, oh, ow, k[0], k[1], C), (sn, sh * s[0], sw * s[1], sh * d[0], sw * d[1], sc), writeable=False)


def pad_nhwc(x, p, value=0.0):
    return np.pad(x, ((0, 0), (p[0], p[2]), (p[1], p[3]), (0, 0)), constant_values=value)


def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def reference_forward(km, x):
    """Returns (logits, probabilities) for an NHWC batch; computes in x.dtype (float32 normally)."""
    vals, left, pre_softmax = {}, dict(km.consumers), {}
    for L in km.layers:
        xs = [vals[i] for i in L.inputs]
        for i in L.inputs:  # free activations as soon as their last consumer has run
            left[i] -= 1
            if left[i] == 0 and i not in km.outputs:
                del vals[i]
        a = xs[0] if xs else None
        act = activation_of(L)
        if L.cls == "InputLayer":
            y = x
        elif L.cls in IDENTITY or L.cls == "Activation":
            y = a
        elif L.cls == "Conv2D":
            k, s, d, p, _ = spatial_params(L, a.shape[1:3])
            w = windows(pad_nhwc(a, p), k, s, d)
            K = L.w["kernel"]  # HWIO: rows (kh, kw, ci) match the window layout
            y = w.reshape(-1, K.shape[0] * K.shape[1] * K.shape[2]) @ K.reshape(-1, K.shape[3])
            y = y.reshape(w.shape[:3] + (K.shape[3],))
            if L.cfg["use_bias"]:
                y += L.w["bias"]
        elif L.cls == "Dense":
            y = a @ L.w["kernel"] + (L.w["bias"] if L.cfg["use_bias"] else 0)
        elif L.cls == "BatchNormalization":
            g = L.w.get("gamma", np.float32(1)) if L.cfg.get("scale", True) else np.float32(1)
            b = L.w.get("beta", np.float32(0)) if L.cfg.get("center", True) else np.float32(0)
            y = (a - L.w["moving_mean"]) / np.sqrt(L.w["moving_variance"] + np.float32(L.cfg["epsilon"])) * g + b
        elif L.cls == "ReLU":
            y = np.maximum(a, np.float32(0))
            if L.cfg.get("max_value") is not None:
                y = np.minimum(y, np.float32(L.cfg["max_value"]))
        elif L.cls == "MaxPooling2D":
            k, s, d, p, _ = spatial_params(L, a.shape[1:3])
            y = windows(pad_nhwc(a, p, -np.inf), k, s, d).max(axis=(3, 4))
        elif L.cls == "AveragePooling2D":  # TF: padded cells are not counted
            k, s, d, p, _ = spatial_params(L, a.shape[1:3])
            y = windows(pad_nhwc(a, p), k, s, d).sum(axis=(3, 4))
            cnt = windows(pad_nhwc(np.ones((1,) + a.shape[1:3] + (1,), a.dtype), p), k, s, d).sum(axis=(3, 4))
            y = y / cnt
        elif L.cls == "Flatten":
            y = a.reshape(a.shape[0], -1)  # NHWC memory order = Keras (H, W, C) flatten order
        elif L.cls == "Add":
            y = xs[0].copy()
            for t in xs[1:]:
                y += t
        if act == "relu":
            y = np.maximum(y, np.float32(0))
        elif act == "softmax":
            pre_softmax[L.name] = y
            y = softmax(y)
        vals[L.name] = y.astype(x.dtype, copy=False)
        if L.name in km.outputs:
            return pre_softmax.get(L.name), vals[L.name]
    raise ConversionError("model output never computed")


# ----------------------------------------------------------------------------------------------
# Datasets (raw uint8, NHWC) and preprocessing
# ----------------------------------------------------------------------------------------------
def load_dataset(data_dir, dataset):
    if dataset == "mnist":
        def idx(fn, ndim):  # IDX: 0x00 0x00 dtype(0x08=uint8) ndim, then ndim big-endian int32 dims
            p = os.path.join(data_dir, "mnist", fn)
            with gzip.open(p, "rb") as f:
                b = f.read()
            if b[:3] != b"\0\0\x08" or b[3] != ndim:
                raise ConversionError(f"{p}: not a uint8 IDX file with {ndim} dimensions")
            dims = [int.from_bytes(b[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
            return np.frombuffer(b, np.uint8, offset=4 + 4 * ndim).reshape(dims)
        return idx("t10k-images-idx3-ubyte.gz", 3)[..., None], idx("t10k-labels-idx1-ubyte.gz", 1).astype(np.int64)
    p = os.path.join(data_dir, "cifar10", "test_batch.bin")
    raw = np.fromfile(p, np.uint8)
    if raw.size % 3073:
        raise ConversionError(f"{p}: size {raw.size} is not a multiple of 3073-byte records")
    raw = raw.reshape(-1, 3073)
    return raw[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), raw[:, 0].astype(np.int64)


def preprocess(pix, mean_image):
    """uint8 NHWC -> float32 NHWC, as CrossSim: pixel/255 or (pixel - x_train_mean)/255."""
    x = pix.astype(np.float32)
    if mean_image is not None:
        x = x - mean_image
    return x / np.float32(255)


# ----------------------------------------------------------------------------------------------
# --verify: tiny NCHW interpreter for the emitted ops, on torch.nn.functional
# ----------------------------------------------------------------------------------------------
def run_onnx_torch(model, x):
    import torch
    import torch.nn.functional as F
    from onnx import helper, numpy_helper
    dt = torch.float64 if x.dtype == np.float64 else torch.float32  # computes in x.dtype
    env = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()).to(dt) for i in model.graph.initializer}
    env["input"] = torch.from_numpy(x)
    for n in model.graph.node:
        a = {at.name: helper.get_attribute_value(at) for at in n.attribute}
        i = [env[t] for t in n.input]
        if n.op_type in ("Conv", "MaxPool", "AveragePool"):
            t, l, b, r = a.get("pads", [0, 0, 0, 0])
            fill = -float("inf") if n.op_type == "MaxPool" else 0.0
            xp = F.pad(i[0], (l, r, t, b), value=fill)
        if n.op_type == "Conv":
            y = F.conv2d(xp, i[1], i[2] if len(i) > 2 else None, a["strides"], 0, a.get("dilations", 1))
        elif n.op_type == "MaxPool":
            y = F.max_pool2d(xp, a["kernel_shape"], a["strides"])
        elif n.op_type == "AveragePool":  # count_include_pad=0
            ones = F.pad(torch.ones_like(i[0][:1, :1]), (l, r, t, b))
            y = F.avg_pool2d(xp, a["kernel_shape"], a["strides"]) / F.avg_pool2d(ones, a["kernel_shape"], a["strides"])
        elif n.op_type == "BatchNormalization":
            y = F.batch_norm(i[0], i[3], i[4], i[1], i[2], False, 0.0, a["epsilon"])
        elif n.op_type == "Relu":
            y = F.relu(i[0])
        elif n.op_type == "Clip":
            y = torch.clamp(i[0], float(i[1]), float(i[2]))
        elif n.op_type == "Flatten":
            y = i[0].flatten(a.get("axis", 1))
        elif n.op_type == "Gemm":
            assert a.get("transB") == 1 and not a.get("transA")
            y = F.linear(i[0], i[1], i[2])
        elif n.op_type == "Add":
            y = i[0] + i[1]
        elif n.op_type == "Softmax":
            y = F.softmax(i[0], dim=a.get("axis", -1))
        else:
            raise ConversionError(f"--verify: op {n.op_type} (node {n.name}) not implemented")
        env[n.output[0]] = y
    return env["logits"].numpy(), env["probabilities"].numpy()


# ----------------------------------------------------------------------------------------------
def md5(path):
    with open(path, "rb") as f:
        return hashlib.md5(f.read()).hexdigest()


def process(stem, args, acc):
    h5name, dataset, expected = MODELS[stem]
    h5 = os.path.join(args.models_dir, h5name)
    if not os.path.isfile(h5):
        raise ConversionError(f"{h5}: file not found (check --models-dir)")
    t0 = time.time()
    km = KerasModel(h5)
    mean_image, pp = None, f"scale: {SCALE!r}\n"
    if dataset == "cifar10":
        src = os.path.join(args.models_dir, "x_train_mean.npy")
        mean_image = np.load(src)
        if mean_image.shape != (32, 32, 3) or mean_image.dtype != np.float32:
            raise ConversionError(f"{src}: expected float32 (32, 32, 3), got {mean_image.dtype} {mean_image.shape}")
        shutil.copyfile(src, os.path.join(args.out, MEAN_IMAGE))
        pp = f"mean_image: {MEAN_IMAGE}\nmean_image_layout: HWC\n" + pp
    source = {"file": h5name, "md5": md5(h5), "origin": SOURCE_REPO,
              "converted_by": "tools/keras_h5_to_onnx.py"}
    model = to_onnx(km, pp, source, dataset)
    import onnx
    onnx_path = os.path.join(args.out, stem + ".onnx")
    onnx.save(model, onnx_path)
    print(f"[{stem}] wrote {onnx_path} ({os.path.getsize(onnx_path):,} bytes, {len(model.graph.node)} nodes)")

    pix, labels = load_dataset(args.data_dir, dataset)
    x16 = preprocess(pix[:N_FIXTURE], mean_image)
    logits16, probs16 = reference_forward(km, x16)
    fx = os.path.join(args.fixtures, stem)
    for suffix, arr in (("input", x16.transpose(0, 3, 1, 2)), ("labels", labels[:N_FIXTURE]),
                        ("logits", logits16), ("probabilities", probs16)):
        np.save(f"{fx}.{suffix}.npy", np.ascontiguousarray(arr))
    ok = True
    if args.verify:  # float32: agreement up to rounding; float64: exact same math up to ~1e-13
        m = onnx.load(onnx_path)
        l32, p32 = run_onnx_torch(m, np.ascontiguousarray(x16.transpose(0, 3, 1, 2)))
        x64 = x16.astype(np.float64)
        l64r, p64r = reference_forward(km.astype(np.float64), x64)
        l64, p64 = run_onnx_torch(m, np.ascontiguousarray(x64.transpose(0, 3, 1, 2)))
        d32 = max(np.abs(l32 - logits16).max() / max(1.0, np.abs(logits16).max()), np.abs(p32 - probs16).max())
        d64 = max(np.abs(l64 - l64r).max(), np.abs(p64 - p64r).max())
        ok = d32 <= args.verify_tol and d64 <= args.verify_tol
        print(f"[{stem}] verify ONNX (NCHW, torch) vs NumPy reference (NHWC), {N_FIXTURE} images: float32 "
              f"max diff {d32:.2e} (logits relative to max|logit| {np.abs(logits16).max():.1f}), float64 max "
              f"abs diff {d64:.2e} -> {'OK' if ok else 'FAIL'}")
    if not args.skip_accuracy:
        correct = 0
        for b in range(0, len(labels), args.batch):
            _, p = reference_forward(km, preprocess(pix[b:b + args.batch], mean_image))
            correct += int((p.argmax(axis=1) == labels[b:b + args.batch]).sum())
        n = len(labels)
        match = correct == expected
        ok = ok and match
        print(f"[{stem}] reference top-1 {100 * correct / n:.2f} % ({correct}/{n}); expected "
              f"{100 * expected / n:.2f} % -> {'OK' if match else 'MISMATCH'}")
        acc[stem] = {"file": stem + ".onnx", "source": h5name, "test_set": dataset + " test (10,000)",
                     "top1": correct / n, "correct": correct, "n": n}
    print(f"[{stem}] done in {time.time() - t0:.1f} s")
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="See the module docstring (top of this file) for conversion details.")
    ap.add_argument("--models-dir", required=True, help="directory with the CrossSim .h5 files and x_train_mean.npy")
    ap.add_argument("--data-dir", required=True, help="directory with mnist/ (IDX .gz) and cifar10/test_batch.bin")
    ap.add_argument("--out", required=True, help="output directory for .onnx files, mean image and accuracy JSON")
    ap.add_argument("--fixtures", required=True, help="output directory for the 16-image .npy test fixtures")
    ap.add_argument("--only", action="append", choices=sorted(MODELS), help="convert only this model (repeatable)")
    ap.add_argument("--skip-accuracy", action="store_true", help="skip the full 10,000-image reference evaluation")
    ap.add_argument("--verify", action="store_true", help="run the written ONNX (torch NCHW) against the reference")
    ap.add_argument("--verify-tol", type=float, default=1e-5, help="--verify tolerance (default 1e-5)")
    ap.add_argument("--batch", type=int, default=250, help="images per reference batch (default 250)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    os.makedirs(args.fixtures, exist_ok=True)
    acc_path = os.path.join(args.out, "reference_accuracy.json")
    acc = {}
    if os.path.isfile(acc_path):  # keep entries of models not re-evaluated in this run
        with open(acc_path) as f:
            acc = json.load(f).get("models", {})
    ok = True
    try:
        for stem in (args.only or list(MODELS)):
            ok = process(stem, args, acc) and ok
    except ConversionError as e:
        sys.exit(f"error: {e}")
    if not args.skip_accuracy:
        with open(acc_path, "w") as f:
            json.dump({"description": "top-1 of the float32 weights by an independent NumPy NHWC forward pass "
                                      "(tools/keras_h5_to_onnx.py), full test sets",
                       "precision": "float32", "models": dict(sorted(acc.items()))}, f, indent=2)
            f.write("\n")
        print(f"wrote {acc_path}")
    if not ok:
        sys.exit("error: verification or accuracy check failed (see above)")


if __name__ == "__main__":
    main()
