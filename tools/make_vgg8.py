#!/usr/bin/env python3
"""Write models/vgg8_cifar10.onnx: the VGG8 that NeuroSim V1.3 benchmarks on CIFAR-10, for the
cost model (docs/cost.md). Its weights are NOT trained: the cost model needs only the layer
shapes, and the weights are chosen so that the file is small in git.

    /usr/bin/python3 tools/make_vgg8.py [--out models/vgg8_cifar10.onnx.gz] [--seed 1]

Network (NeuroSim V1.3 Inference_pytorch/models/VGG.py, cfg "VGG8"): 3x3 convolutions with
padding 1 and ReLU, 2x2 max pooling after every second convolution:
    conv 3->128, conv 128->128, pool, conv 128->256, conv 256->256, pool,
    conv 256->512, conv 512->512, pool, flatten (8192), fc 8192->1024, ReLU, fc 1024->10
on 32/32/16/16/8/8 feature maps: 616 M multiply-accumulates per image and 13.0 M weights. No bias
(NeuroSim's quantized layers have none), no BatchNorm.

Weights: every tensor is filled by tiling one block of 4096 Kaiming-normal values (seeded), scaled
by the layer's fan-in. The values look random layer by layer (a realistic weight distribution for
the mapping statistics) while the file deflates ~80x: git stores its 52 MB in about 0.6 MB.
Accuracy on this model is chance (10 %); use it for `xbarsim cost`, not for `xbarsim run`.
Preprocessing metadata (x = (p/255 - mean)/std, the usual CIFAR-10 statistics) is stored anyway,
so that the model runs on data/cifar10-test.
"""

import argparse
import gzip
import os

import numpy as np
import onnx
import torch
import torch.nn as nn

BLOCK = 4096


class VGG8(nn.Module):
    def __init__(self):
        super().__init__()
        def conv(i, o):
            return [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.ReLU()]
        self.features = nn.Sequential(
            *conv(3, 128), *conv(128, 128), nn.MaxPool2d(2),
            *conv(128, 256), *conv(256, 256), nn.MaxPool2d(2),
            *conv(256, 512), *conv(512, 512), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(8192, 1024, bias=False), nn.ReLU(), nn.Linear(1024, 10, bias=False))

    def forward(self, x):
        return self.classifier(self.features(x))


def fill_tiled(model, seed):
    rng = np.random.default_rng(seed)
    block = rng.standard_normal(BLOCK).astype(np.float32)
    with torch.no_grad():
        for p in model.parameters():
            fan_in = int(np.prod(p.shape[1:]))
            reps = -(-p.numel() // BLOCK)
            values = np.tile(block, reps)[: p.numel()] * np.float32(np.sqrt(2.0 / fan_in))
            p.copy_(torch.from_numpy(values.reshape(p.shape)))


def set_meta(model, key, value):
    p = model.metadata_props.add()
    p.key, p.value = key, value


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="models/vgg8_cifar10.onnx.gz",
                    help="output file; a name ending in .gz is gzip-compressed (xbarsim reads both)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    model = VGG8().eval()
    fill_tiled(model, args.seed)
    macs = 0
    for m, hw in zip([mod for mod in model.features if isinstance(mod, nn.Conv2d)], [32, 32, 16, 16, 8, 8]):
        macs += m.weight.numel() * hw * hw
    macs += sum(m.weight.numel() for m in model.classifier if isinstance(m, nn.Linear))
    dummy = torch.zeros(1, 3, 32, 32)
    tmp = args.out + ".tmp"
    torch.onnx.export(model, dummy, tmp, input_names=["input"], output_names=["logits"], opset_version=13,
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, do_constant_folding=True)
    m = onnx.load(tmp)
    # Short layer names (conv1..conv6, fc1, fc2) for tables and per-layer config overrides.
    convs = fcs = 0
    for node in m.graph.node:
        if node.op_type == "Conv":
            convs += 1
            node.name = "conv%d" % convs
        elif node.op_type in ("MatMul", "Gemm"):
            fcs += 1
            node.name = "fc%d" % fcs
    set_meta(m, "xbarsim.preprocess",
             "scale: 0.00392156862745098\nmean: [0.4914, 0.4822, 0.4465]\nstd: [0.247, 0.243, 0.261]\n")
    set_meta(m, "xbarsim.source",
             "builder: tools/make_vgg8.py\nseed: %d\nweights: untrained, one 4096-value Kaiming-normal block tiled\n" % args.seed)
    onnx.checker.check_model(m, full_check=True)
    if args.out.endswith(".gz"):
        # 52 MB of tiled weights deflate to about 0.3 MB: the working tree stays small.
        with gzip.open(args.out, "wb", compresslevel=9) as f:
            f.write(m.SerializeToString())
    else:
        onnx.save(m, args.out)
    os.remove(tmp)
    print("wrote %s (%d bytes), %d MACs, %d weights" % (args.out, os.path.getsize(args.out), macs,
                                                        sum(p.numel() for p in model.parameters())))


if __name__ == "__main__":
    main()
