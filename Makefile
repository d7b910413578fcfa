# The two README commands:
#   make demo   run the main job: ResNet-20 on CIFAR-10 with PCM crossbars (configs/pcm.yaml)
#   make test   build and run the test suite
# Both install missing Debian packages first (scripts/setup.sh) and build as needed.
BUILD ?= build
JOBS ?= $(shell nproc)
MODEL ?= models/resnet20v1_cifar10.onnx
DATA ?= data/cifar10-test
CONFIG ?= configs/pcm.yaml
CMAKE_FLAGS ?=

.PHONY: all setup setup-tools build demo test bench bench-gpu gpu-bundle accuracy clean

all: build

setup:
	@scripts/setup.sh

setup-tools:
	@scripts/setup.sh --tools

$(BUILD)/CMakeCache.txt: | setup
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

build: setup $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	$(BUILD)/xbarsim run --model $(MODEL) --data $(DATA) --config $(CONFIG) --out $(BUILD)/demo-report.json

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

bench: build
	$(BUILD)/xbarsim bench --model $(MODEL) --batch 64 --iters 5

# The CUDA benchmarks of issue 4 (needs a GPU): ResNet-20 and ResNet-50 (random weights, exported
# to $(BUILD)/resnet50.onnx at bench time), configs bench-baseline and bench-full.
bench-gpu: build
	/usr/bin/python3 tools/export_resnet50.py --out $(BUILD)/resnet50.onnx
	@for cfg in bench-baseline bench-full; do \
	  $(BUILD)/xbarsim bench --backend cuda --model models/resnet20v1_cifar10.onnx --batch 256 --iters 20 --config configs/$$cfg.yaml; \
	  $(BUILD)/xbarsim bench --backend cuda --model $(BUILD)/resnet50.onnx --batch 128 --iters 10 --config configs/$$cfg.yaml; done

# Build here, run there: build-gpu/ with stripped binaries, bundled libraries and run-on-gpu.sh.
gpu-bundle:
	scripts/gpu-bundle.sh

# Full test-set top-1 of every bundled model (the table in the README).
accuracy: build
	@for m in mnist_cnn6 mnist_cnn6_v2; do \
	  $(BUILD)/xbarsim run --quiet --model models/$$m.onnx --data data/mnist-test | sed -n 's/^top-1/'$$m' top-1/p'; done
	@for m in resnet14v1 resnet20v1 resnet32v1 resnet56v1; do \
	  $(BUILD)/xbarsim run --quiet --model models/$${m}_cifar10.onnx --data data/cifar10-test | sed -n 's/^top-1/'$$m' top-1/p'; done

clean:
	rm -rf $(BUILD)
