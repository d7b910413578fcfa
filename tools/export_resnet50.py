#!/usr/bin/env python3
"""Export a ResNet-50 (ImageNet shapes, 3x224x224 -> 1000 logits) with random weights to ONNX,
for `xbarsim bench` (issue 4's ImageNet benchmark). Never committed: written under build/.

Usage:
    /usr/bin/python3 tools/export_resnet50.py --out build/resnet50.onnx [--seed 0]

The network is torchvision's resnet50 definition (Bottleneck blocks [3, 4, 6, 3], stride on the
3x3 convolution, "ResNet v1.5"), written out here because torchvision is not installed on every
machine; with torchvision present, --torchvision uses torchvision.models.resnet50 itself. The
weights are random (kaiming-normal convolutions, BatchNorm with random running statistics so it
is not an identity), seeded, so the benchmark does the same work as a trained model: accuracy is
meaningless, timing is not. BatchNorm is kept in the graph (xbarsim folds it into the convs).
"""
import argparse
import inspect
import os

import torch
import torch.nn as nn



def torchscript_exporter():
    """torch >= 2.9 exports through torch.export (dynamo) by default, which writes opset 18 and
    cannot convert every graph down to the opsets xbarsim reads (11-17); the TorchScript
    exporter writes the requested opset directly."""
    return {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}

def conv3x3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)


def conv1x1(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, 1, stride=stride, bias=False)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, width, stride=1, downsample=None):
        super().__init__()
        self.conv1, self.bn1 = conv1x1(cin, width), nn.BatchNorm2d(width)
        self.conv2, self.bn2 = conv3x3(width, width, stride), nn.BatchNorm2d(width)
        self.conv3, self.bn3 = conv1x1(width, width * 4), nn.BatchNorm2d(width * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet50(nn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = self._layer(64, 3)
        self.layer2 = self._layer(128, 4, stride=2)
        self.layer3 = self._layer(256, 6, stride=2)
        self.layer4 = self._layer(512, 3, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * 4, num_classes)

    def _layer(self, width, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != width * 4:
            downsample = nn.Sequential(conv1x1(self.inplanes, width * 4, stride), nn.BatchNorm2d(width * 4))
        layers = [Bottleneck(self.inplanes, width, stride, downsample)]
        self.inplanes = width * 4
        layers += [Bottleneck(self.inplanes, width) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def randomize(model):
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.uniform_(m.weight, 0.5, 1.5)
            nn.init.uniform_(m.bias, -0.1, 0.1)
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="ONNX file to write (keep it under build/)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--torchvision", action="store_true", help="use torchvision.models.resnet50 (needs torchvision)")
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    if a.torchvision:
        import torchvision  # noqa: PLC0415 (optional dependency)
        model = torchvision.models.resnet50(weights=None)
    else:
        model = ResNet50()
    randomize(model)
    model.eval()
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        torch.onnx.export(model, x, a.out, input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, opset_version=13,
                          do_constant_folding=True, training=torch.onnx.TrainingMode.PRESERVE,
                          **torchscript_exporter())
    print(f"wrote {a.out} (ResNet-50, random weights, seed {a.seed})")


if __name__ == "__main__":
    main()
