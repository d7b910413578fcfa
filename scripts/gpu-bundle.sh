#!/usr/bin/env bash
# Build here, run there (see ../shared/GPU.md): builds xbarsim and its tests for Hopper (sm_90) in
# build-gpu/, strips them, bundles the non-system shared libraries they need as an xz tarball, and
# writes build-gpu/run-on-gpu.sh, which on the GPU machine, in one call, unpacks the libraries,
# runs the whole test suite (GPU tests included), a compute-sanitizer memcheck of a short
# simulation, and the benchmarks, with every log under $OUT (or build-gpu/logs).
#
#   scripts/gpu-bundle.sh                # here (no GPU needed)
#   build-gpu/run-on-gpu.sh              # there, from the repository root
#
# build-gpu/ is ignored by git; it travels with the working tree (64 MiB in all with the tracked
# files), so it holds only the stripped binaries and the compressed libraries. GoogleTest is
# linked statically (Debian ships only libgtest.a); CUDA and C/C++ runtime libraries are left to
# the GPU machine (../shared/tools/gpu-bundle skips them).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-gpu}
JOBS=${JOBS:-$(nproc)}
BUNDLER=${BUNDLER:-../shared/tools/gpu-bundle}

cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 -DXBARSIM_CUDA=ON
cmake --build "$BUILD" -j "$JOBS" --target xbarsim xbarsim_tests
strip "$BUILD/xbarsim" "$BUILD/tests/xbarsim_tests"

rm -rf "$BUILD/bundle"
"$BUNDLER" "$BUILD/bundle" "$BUILD/xbarsim" "$BUILD/tests/xbarsim_tests"
tar -C "$BUILD/bundle" -cJf "$BUILD/bundle-lib.tar.xz" lib
rm -rf "$BUILD/bundle"

cat > "$BUILD/run-on-gpu.sh" <<'RUN'
#!/usr/bin/env bash
# Runs on the GPU machine from the repository root: tests, memcheck, benchmarks. Logs in $OUT.
set -uo pipefail
BUILD=$(cd "$(dirname "$0")" && pwd)
LOGS=${OUT:-$BUILD/logs}
mkdir -p "$LOGS" "$BUILD/bundle"
tar -C "$BUILD/bundle" -xJf "$BUILD/bundle-lib.tar.xz"
export LD_LIBRARY_PATH=$BUILD/bundle/lib:${LD_LIBRARY_PATH:-}
X=$BUILD/xbarsim
{ nvidia-smi -L; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; } > "$LOGS/device.txt" 2>&1
"$X" devices > "$LOGS/devices.txt" 2>&1
# 1. The whole suite (the GPU tests run here instead of skipping).
"$BUILD/tests/xbarsim_tests" --gtest_brief=1 > "$LOGS/tests.txt" 2>&1; echo "tests exit $?" >> "$LOGS/summary.txt"
"$BUILD/tests/xbarsim_tests" --gtest_filter='Cuda*' > "$LOGS/tests-cuda.txt" 2>&1; echo "cuda tests exit $?" >> "$LOGS/summary.txt"
# 2. compute-sanitizer on a short simulation (PCM, read noise, drift: every analog kernel).
compute-sanitizer --tool memcheck --error-exitcode 1 "$X" run --backend cuda --model models/resnet20v1_cifar10.onnx \
  --data data/cifar10-test --config configs/pcm.yaml --trials 1 --images 64 --batch 32 --calibration-images 64 --quiet \
  > "$LOGS/memcheck.txt" 2>&1; echo "memcheck exit $?" >> "$LOGS/summary.txt"
compute-sanitizer --tool racecheck --error-exitcode 1 "$X" run --backend cuda --model models/resnet20v1_cifar10.onnx \
  --data data/cifar10-test --config configs/bench-full.yaml --images 16 --batch 16 --calibration-images 16 --quiet \
  > "$LOGS/racecheck.txt" 2>&1; echo "racecheck exit $?" >> "$LOGS/summary.txt"
# 3. The demo on the GPU against the CPU figure in the README.
"$X" run --backend cuda --model models/resnet20v1_cifar10.onnx --data data/cifar10-test --config configs/pcm.yaml \
  --quiet --out "$LOGS/pcm-report.json" > "$LOGS/pcm-run.txt" 2>&1; echo "pcm run exit $?" >> "$LOGS/summary.txt"
# 4. Benchmarks: ResNet-20 (CIFAR-10 shapes) and ResNet-50 (224x224, random weights exported here).
for cfg in bench-baseline bench-full; do
  "$X" bench --backend cuda --model models/resnet20v1_cifar10.onnx --batch 256 --iters 20 --config configs/$cfg.yaml \
    --out "$LOGS/bench-resnet20-$cfg.json" > "$LOGS/bench-resnet20-$cfg.txt" 2>&1
  echo "bench resnet20 $cfg exit $?" >> "$LOGS/summary.txt"
done
if python3 tools/export_resnet50.py --out "$BUILD/resnet50.onnx" > "$LOGS/export-resnet50.txt" 2>&1; then
  for cfg in bench-baseline bench-full; do
    "$X" bench --backend cuda --model "$BUILD/resnet50.onnx" --batch 128 --iters 10 --config configs/$cfg.yaml \
      --out "$LOGS/bench-resnet50-$cfg.json" > "$LOGS/bench-resnet50-$cfg.txt" 2>&1
    echo "bench resnet50 $cfg exit $?" >> "$LOGS/summary.txt"
  done
else
  echo "resnet50 export failed (see export-resnet50.txt)" >> "$LOGS/summary.txt"
fi
cat "$LOGS/summary.txt"
RUN
chmod +x "$BUILD/run-on-gpu.sh"
du -sh "$BUILD/xbarsim" "$BUILD/tests/xbarsim_tests" "$BUILD/bundle-lib.tar.xz"
echo "bundle ready: run $BUILD/run-on-gpu.sh on the GPU machine (from the repository root)"
