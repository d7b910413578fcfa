#!/usr/bin/env bash
# Runs on the GPU machine, from the repository root, over the build that scripts/gpu-bundle.sh
# made here (build-gpu/). Each step runs under its own time limit, so one slow or hung step cannot
# take the whole call, and writes its log under build-gpu/logs; summary.txt gets one line per step
# with its exit status and seconds. Where $OUT is set (the device tool, which returns at most 8
# files), the logs are packed into $OUT/gpu-logs.tar.gz, with summary.txt beside it.
#
#   scripts/gpu-run.sh                       # the default steps (see the end of this file)
#   scripts/gpu-run.sh cuda-tests bench20    # chosen steps
#
# Steps: cuda-tests tests memcheck racecheck pcm isaac bench20 bench50 trials search. The tests find the
# repository at the path they were built in (XBARSIM_SOURCE_DIR): build in the same path as the
# checkout on the GPU machine (/work/main for the device tool).
set -uo pipefail
BUILD=${BUILD:-build-gpu}
LOGS=$BUILD/logs
rm -rf "$LOGS"; mkdir -p "$LOGS" "$BUILD/bundle"
[ -d "$BUILD/bundle/lib" ] || tar -C "$BUILD/bundle" -xJf "$BUILD/bundle-lib.tar.xz"
export LD_LIBRARY_PATH=$PWD/$BUILD/bundle/lib:${LD_LIBRARY_PATH:-}
X=$BUILD/xbarsim
T=$BUILD/tests/xbarsim_tests
R20=models/resnet20v1_cifar10.onnx

# The whole script stops starting steps at DEADLINE seconds (the device tool kills a call at 600),
# and cuts a step's own limit to what is left.
DEADLINE=${DEADLINE:-560}
pack() { [ -z "${OUT:-}" ] || { tar -C "$LOGS" -czf "$OUT/gpu-logs.tar.gz" .; cp "$LOGS/summary.txt" "$OUT/"; }; }
step() {  # step NAME LIMIT_S COMMAND...: run under a limit, log to NAME.txt, summarize, pack
    local name=$1 limit=$2; shift 2
    local left=$((DEADLINE - SECONDS))
    if [ "$left" -lt 15 ]; then echo "$name skipped: deadline" | tee -a "$LOGS/summary.txt"; return; fi
    [ "$limit" -le "$left" ] || limit=$left
    local t0=$SECONDS
    timeout -k 5 "$limit" "$@" > "$LOGS/$name.txt" 2>&1
    local rc=$?
    echo "$name exit $rc in $((SECONDS - t0)) s" | tee -a "$LOGS/summary.txt"
    pack
}

run_step() {
    case $1 in
    cuda-tests) step cuda-tests 240 "$T" --gtest_filter='*Cuda*' ;;
    tests) step tests 300 "$T" --gtest_brief=1 ;;
    memcheck) step memcheck 240 compute-sanitizer --tool memcheck --error-exitcode 1 "$X" run --backend cuda \
        --model $R20 --data data/cifar10-test --config configs/pcm.yaml --trials 1 --images 32 --batch 16 \
        --calibration-images 32 --quiet ;;
    racecheck) step racecheck 240 compute-sanitizer --tool racecheck --error-exitcode 1 "$X" run --backend cuda \
        --model models/mnist_cnn6.onnx --data data/mnist-test --config configs/pcm.yaml --images 4 --batch 4 \
        --calibration-images 8 --quiet ;;
    pcm) step pcm 240 "$X" run --backend cuda --model $R20 --data data/cifar10-test --config configs/pcm.yaml \
        --quiet --out "$LOGS/pcm-report.json" ;;
    bench20) for cfg in bench-baseline bench-full; do
        step "bench-resnet20-$cfg" 180 "$X" bench --backend cuda --model $R20 --batch 256 --iters 20 \
            --config configs/$cfg.yaml --chips 8 --profile --out "$LOGS/bench-resnet20-$cfg.json"; done ;;
    bench50) [ -f "$BUILD/resnet50.onnx" ] || step export-resnet50 120 python3 tools/export_resnet50.py --out "$BUILD/resnet50.onnx"
        for cfg in bench-baseline bench-full; do
        step "bench-resnet50-$cfg" 240 "$X" bench --backend cuda --model "$BUILD/resnet50.onnx" --batch 128 --iters 10 \
            --config configs/$cfg.yaml --profile --out "$LOGS/bench-resnet50-$cfg.json"; done ;;
    isaac) step isaac 300 "$X" run --backend cuda --model $R20 --data data/cifar10-test --config configs/isaac.yaml \
        --images 500 --quiet --out "$LOGS/isaac-report.json" ;;  # the README's row: first 500 images
    trials) for per_pass in 1 0; do  # 25 chips one at a time, then as many side by side as fit
        step "trials-per-pass-$per_pass" 240 "$X" run --backend cuda --model $R20 --data data/cifar10-test \
            --config configs/pcm.yaml --trials 25 --chips-per-pass $per_pass --quiet \
            --out "$LOGS/trials-per-pass-$per_pass.json"; done ;;
    search) step search 540 "$X" search --space configs/search/resnet-cifar10-space.yaml --data data/cifar10-calib \
        --test-data data/cifar10-test --out "$LOGS/search" ;;
    *) echo "unknown step $1" | tee -a "$LOGS/summary.txt" ;;
    esac
}

touch "$LOGS/summary.txt"
{ nvidia-smi -L; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; "$X" devices; } > "$LOGS/device.txt" 2>&1
steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(cuda-tests memcheck pcm bench20 trials bench50)  # about 5 minutes on an H100
for s in "${steps[@]}"; do run_step "$s"; done
touch "$LOGS/summary.txt"; pack
