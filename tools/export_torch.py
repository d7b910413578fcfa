#!/usr/bin/env python3
"""Export your own PyTorch model to ONNX for xbarsim.

Usage (from the directory that contains your package; the current directory is put on
sys.path, so `mypkg.models` is importable from there):

    /usr/bin/python3 tools/export_torch.py --module mypkg.models:Net --weights net.pt \\
        --input-shape 3 32 32 --out models/net.onnx \\
        --scale 0.0039215686 --mean 0.4914 0.4822 0.4465 --std 0.247 0.243 0.261

    # try it without any files: a small built-in, randomly initialised (seeded) CNN
    /usr/bin/python3 tools/export_torch.py --demo --out /tmp/demo_cnn.onnx

(Use an interpreter that has torch and onnx; on Debian: python3-torch, python3-onnx.)

What it does
------------
1. Imports the class (or zero-argument factory function) named by --module "pkg.mod:Name" and
   constructs it with no arguments.
2. Loads --weights if given: torch.load(..., map_location="cpu"). A plain state_dict, a
   checkpoint dict with a "state_dict" / "model_state_dict" / "model" entry, or a pickled
   nn.Module are accepted; a "module." prefix (DataParallel) is stripped. Loading is strict.
3. model.eval(), then torch.onnx.export with input name "input", output name "logits", a
   dynamic batch axis (dim 0 of both), do_constant_folding=True and
   training=TrainingMode.PRESERVE. PRESERVE (with the module already in eval mode) exports the
   inference graph but skips torch's eval-mode Conv+BatchNorm fusion, so BatchNormalization
   nodes are kept: xbarsim folds BatchNorm into the preceding Conv / Gemm itself when it loads
   the model (and runs a BatchNorm it cannot fold, e.g. one after an Add, as a standalone op).
   Nothing else is folded or rewritten.
4. Stores two ONNX metadata_props entries:
     xbarsim.preprocess  YAML text describing the input preprocessing, from the flags:
         scale: <float>            (default 1.0)
         mean: [m_0, ..., m_C-1]   (default all 0)
         std: [s_0, ..., s_C-1]    (default all 1)
         mean_image: <path>        (only with --mean-image; path relative to the .onnx file's
                                    directory)
         mean_image_layout: CHW|HWC  (only with --mean-image)
       Semantics, with p the raw stored pixel values (e.g. 0..255) in CHW order:
         x[c,h,w] = ((p[c,h,w] - mean_image[c,h,w]) * scale - mean[c]) / std[c]
       (mean_image is taken as 0 when absent; an HWC mean image is transposed to CHW first.)
     xbarsim.source      YAML text: module: <pkg.mod:Name or "builtin:demo_cnn">,
                         weights: <file or null>.
5. Checks the model with onnx.checker (full_check), prints the output shape of a test forward
   pass and the op types used, and warns about any op type xbarsim does not support (the
   file is still written; the exit status is then 2).

Ops supported by the xbarsim CPU engine (ONNX default domain, opsets 11-17, float32, NCHW,
dim 0 = batch): Conv (2-D; groups/depthwise, strides, pads, auto_pad, dilations), Gemm,
MatMul, Add, Sub, Mul, Div, Relu, Clip, LeakyRelu, Sigmoid, HardSigmoid, HardSwish, Tanh,
MaxPool, AveragePool, GlobalAveragePool, BatchNormalization (inference), Flatten, Reshape,
Transpose, Concat, Softmax, Pad (constant/reflect/edge), Identity, Dropout, Constant.
Typical torch layers map onto these: nn.Conv2d, nn.Linear, nn.BatchNorm1d/2d, nn.ReLU/ReLU6,
nn.LeakyReLU, nn.Hardswish (HardSwish from opset 14, HardSigmoid*x below), nn.MaxPool2d,
nn.AvgPool2d, nn.AdaptiveAvgPool2d(1), torch.flatten, torch.cat, residual additions.
"""

import argparse
import inspect
import importlib
import io
import json
import os
import re
import sys
import warnings

import numpy as np
import onnx
import torch
import torch.nn as nn

SUPPORTED_OPS = {
    "Conv", "Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Relu", "Clip", "LeakyRelu",
    "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "MaxPool", "AveragePool",
    "GlobalAveragePool", "BatchNormalization", "Flatten", "Reshape", "Transpose", "Concat",
    "Softmax", "Pad", "Identity", "Dropout", "Constant",
}
MIN_OPSET, MAX_OPSET = 11, 17


class DemoCNN(nn.Module):
    """Small CIFAR-sized CNN: 2 x (Conv-BN-ReLU-MaxPool), Conv-BN-ReLU, GAP, Linear(10)."""

    def __init__(self, in_ch=3, classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_ch, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(32, classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))



def torchscript_exporter():
    """torch >= 2.9 exports through torch.export (dynamo) by default, which writes opset 18 and
    cannot convert every graph down to the opsets xbarsim reads (11-17); the TorchScript
    exporter writes the requested opset directly."""
    return {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}

def build_demo(in_ch):
    torch.manual_seed(0)
    m = DemoCNN(in_ch)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():  # non-trivial BatchNorm statistics, as in a trained model
        for mod in m.modules():
            if isinstance(mod, nn.BatchNorm2d):
                c = mod.num_features
                mod.weight.copy_(torch.rand(c, generator=g) + 0.5)
                mod.bias.copy_(torch.randn(c, generator=g) * 0.1)
                mod.running_mean.copy_(torch.randn(c, generator=g) * 0.1)
                mod.running_var.copy_(torch.rand(c, generator=g) + 0.5)
    return m


def load_class(spec):
    if ":" not in spec:
        sys.exit("error: --module must look like 'package.module:ClassName', got %r" % spec)
    mod_name, attr = spec.split(":", 1)
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        mod = importlib.import_module(mod_name)
    except ImportError as e:
        sys.exit("error: cannot import module %r (cwd %s is on sys.path): %s" % (mod_name, cwd, e))
    obj = mod
    for part in attr.split("."):
        if not hasattr(obj, part):
            sys.exit("error: module %r has no attribute %r" % (mod_name, attr))
        obj = getattr(obj, part)
    model = obj()
    if not isinstance(model, nn.Module):
        sys.exit("error: %s() returned %s, not a torch.nn.Module" % (spec, type(model).__name__))
    return model


def load_weights(model, path):
    obj = torch.load(path, map_location="cpu")
    if isinstance(obj, nn.Module):
        obj = obj.state_dict()
    if isinstance(obj, dict):
        for key in ("state_dict", "model_state_dict", "model"):
            if key in obj and isinstance(obj[key], (dict, nn.Module)):
                obj = obj[key]
                if isinstance(obj, nn.Module):
                    obj = obj.state_dict()
                break
    if not isinstance(obj, dict):
        sys.exit("error: %s does not contain a state_dict (got %s)" % (path, type(obj).__name__))
    if obj and all(k.startswith("module.") for k in obj):
        obj = {k[len("module."):]: v for k, v in obj.items()}
    try:
        model.load_state_dict(obj, strict=True)
    except RuntimeError as e:
        sys.exit("error: weights in %s do not match the model:\n%s" % (path, e))


def yaml_str(s):
    """A YAML scalar for a string: plain when safe, else a double-quoted (JSON) string."""
    if re.fullmatch(r"[A-Za-z0-9_./+-][A-Za-z0-9_./+ -]*", s) and s.strip() == s and \
            s.lower() not in ("null", "true", "false", "yes", "no", "on", "off", "~"):
        return s
    return json.dumps(s)


def yaml_float(v):
    return repr(float(v))


def build_preprocess_yaml(args, channels, out_path):
    scale = 1.0 if args.scale is None else args.scale
    mean = [0.0] * channels if args.mean is None else args.mean
    std = [1.0] * channels if args.std is None else args.std
    if len(mean) != channels or len(std) != channels:
        sys.exit("error: --mean and --std need %d values (the input has %d channels)"
                 % (channels, channels))
    if any(s == 0 for s in std):
        sys.exit("error: --std values must be non-zero")
    lines = ["scale: %s" % yaml_float(scale),
             "mean: [%s]" % ", ".join(yaml_float(v) for v in mean),
             "std: [%s]" % ", ".join(yaml_float(v) for v in std)]
    if args.mean_image:
        c, h, w = args.input_shape
        img = np.load(args.mean_image)
        want = (c, h, w) if args.mean_image_layout == "CHW" else (h, w, c)
        if tuple(img.shape) != want:
            sys.exit("error: --mean-image %s has shape %s, expected %s for layout %s"
                     % (args.mean_image, tuple(img.shape), want, args.mean_image_layout))
        rel = os.path.relpath(os.path.abspath(args.mean_image),
                              os.path.dirname(os.path.abspath(out_path)))
        lines.append("mean_image: %s" % yaml_str(rel))
        lines.append("mean_image_layout: %s" % args.mean_image_layout)
    return "\n".join(lines) + "\n"


def set_meta(model, key, value):
    for p in model.metadata_props:
        if p.key == key:
            p.value = value
            return
    p = model.metadata_props.add()
    p.key, p.value = key, value


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Export a PyTorch model to ONNX for xbarsim.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__[__doc__.index("What it does"):])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--module", help="'package.module:ClassName' (constructed with no args)")
    src.add_argument("--demo", action="store_true",
                     help="use a small built-in, randomly initialised (seed 0) CNN")
    ap.add_argument("--weights", help="state_dict / checkpoint file (torch.load, map_location=cpu)")
    ap.add_argument("--input-shape", nargs=3, type=int, metavar=("C", "H", "W"),
                    help="one input sample's shape, without the batch (default for --demo: "
                         "3 32 32)")
    ap.add_argument("--out", required=True, help="output .onnx path")
    ap.add_argument("--opset", type=int, default=13, help="ONNX opset, %d-%d (default 13)"
                    % (MIN_OPSET, MAX_OPSET))
    ap.add_argument("--scale", type=float, help="multiplier applied to raw pixels (e.g. 1/255)")
    ap.add_argument("--mean", type=float, nargs="+", help="per-channel mean, after scale")
    ap.add_argument("--std", type=float, nargs="+", help="per-channel std, after scale")
    ap.add_argument("--mean-image", help=".npy mean image subtracted from raw pixels")
    ap.add_argument("--mean-image-layout", choices=["CHW", "HWC"], default="CHW",
                    help="layout of --mean-image (default CHW)")
    args = ap.parse_args(argv)

    if not MIN_OPSET <= args.opset <= MAX_OPSET:
        ap.error("--opset must be in %d..%d (xbarsim supports those)" % (MIN_OPSET, MAX_OPSET))
    if args.input_shape is None:
        if not args.demo:
            ap.error("--input-shape C H W is required with --module")
        args.input_shape = [3, 32, 32]
    if args.demo and args.weights:
        ap.error("--weights cannot be used with --demo")
    if any(v <= 0 for v in args.input_shape):
        ap.error("--input-shape values must be positive")

    if args.demo:
        model = build_demo(args.input_shape[0])
        source = "module: builtin:demo_cnn\nweights: null\n"
    else:
        model = load_class(args.module)
        if args.weights:
            load_weights(model, args.weights)
        source = "module: %s\nweights: %s\n" % (
            yaml_str(args.module), yaml_str(args.weights) if args.weights else "null")
    model.eval()

    preprocess = build_preprocess_yaml(args, args.input_shape[0], args.out)

    torch.manual_seed(0)
    dummy = torch.randn(1, *args.input_shape)
    with torch.no_grad():
        ref = model(dummy)
    if not isinstance(ref, torch.Tensor):
        sys.exit("error: the model must return a single tensor, got %s" % type(ref).__name__)

    buf = io.BytesIO()
    with warnings.catch_warnings():
        # PRESERVE + constant folding triggers a warning meant for training-mode exports; the
        # module is in eval mode here, so it does not apply.
        warnings.filterwarnings("ignore", message=".*constant folding.*")
        with torch.no_grad():
            torch.onnx.export(
                model, (dummy,), buf,
                opset_version=args.opset,
                input_names=["input"], output_names=["logits"],
                dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                do_constant_folding=True,
                training=torch.onnx.TrainingMode.PRESERVE,
                **torchscript_exporter(),
            )
    onnx_model = onnx.load_from_string(buf.getvalue())
    set_meta(onnx_model, "xbarsim.preprocess", preprocess)
    set_meta(onnx_model, "xbarsim.source", source)
    onnx.checker.check_model(onnx_model, full_check=True)

    out_dir = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    onnx.save(onnx_model, args.out)

    ops = {}
    for n in onnx_model.graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    unsupported = sorted(set(ops) - SUPPORTED_OPS)
    print("wrote %s (opset %d, %d bytes)" % (args.out, args.opset, os.path.getsize(args.out)))
    print("input  'input':  [batch, %s]" % ", ".join(map(str, args.input_shape)))
    print("output 'logits': torch output shape for batch 1: %s" % list(ref.shape))
    print("ops: %s" % ", ".join("%s x%d" % kv for kv in sorted(ops.items())))
    print("xbarsim.preprocess:\n  " + preprocess.strip().replace("\n", "\n  "))
    print("xbarsim.source:\n  " + source.strip().replace("\n", "\n  "))
    if unsupported:
        print("WARNING: op types not supported by xbarsim: %s" % ", ".join(unsupported))
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
