#!/usr/bin/env bash
# Build here, run there (see ../shared/GPU.md): builds xbarsim and its tests for Hopper (sm_90) in
# build-gpu/, strips them, bundles the non-system shared libraries they need as an xz tarball, and
# writes build-gpu/run-on-gpu.sh, which on the GPU machine runs scripts/gpu-run.sh (the GPU tests,
# the whole suite, compute-sanitizer, the PCM demo, the benchmarks, chips side by side, the
# co-search demo, each step under its own time limit; logs in build-gpu/logs, packed into $OUT).
# Carry only build-gpu/xbarsim, build-gpu/tests/xbarsim_tests and build-gpu/bundle-lib.tar.xz
# (about 20 MB): the object files would exceed the device tool's 64 MiB.
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
# Runs on the GPU machine from the repository root: every step of scripts/gpu-run.sh (or those
# named) over this build.
BUILD=$(basename "$(cd "$(dirname "$0")" && pwd)") exec bash scripts/gpu-run.sh "$@"
RUN
chmod +x "$BUILD/run-on-gpu.sh"
du -sh "$BUILD/xbarsim" "$BUILD/tests/xbarsim_tests" "$BUILD/bundle-lib.tar.xz"
echo "bundle ready: run $BUILD/run-on-gpu.sh on the GPU machine (from the repository root)"
