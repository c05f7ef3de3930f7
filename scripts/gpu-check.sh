#!/usr/bin/env bash
# The GPU check, one run: CUDA and WebGPU tests and the benches a GPU lease should
# bring back (issue "use the GPU a user has"). Writes everything to OUT (default
# bench/results/gpu/<date>), one log per step, and goes on past a failed step.
# Needs: node 20 on PATH, node_modules installed and built (npm run build), for CUDA
# the provider libraries (`bash scripts/setup-cuda.sh --cuda13`), for WebGPU a GPU
# Vulkan driver and loader. Installs nothing.
#   bash scripts/gpu-check.sh [OUT]
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-bench/results/gpu/$(date -u +%F)}
mkdir -p "$OUT"
step() { local name=$1; shift; echo "== $name: $*" | tee -a "$OUT/summary.txt"; timeout 900 "$@" >"$OUT/$name.txt" 2>&1; echo "   exit $?" | tee -a "$OUT/summary.txt"; }
{ date -u; uname -a; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1; node --version; } > "$OUT/machine.txt"
step test-cuda env STYLECAST_TEST_CUDA=1 npx vitest run test/integration/engine.test.ts
SIZES=640x360,1280x720,1920x1080
for device in cuda webgpu; do
  # fp32 and the fp16 variant, each with frames as 8-bit pixels and as float tensors.
  step "model-candy-$device" node dist/bench/model-bench.js --style candy --device "$device" --sizes "$SIZES" --frames 200
  step "model-candy-fast-$device" node dist/bench/model-bench.js --style candy-fast --device "$device" --sizes "$SIZES" --frames 200 --no-fp16
done
# End to end: a 1080p file through decode, the model on CUDA and encode.
step e2e-1080p-cuda node dist/bench/bench.js --style candy --device cuda --size 1920x1080 --model-frames 100 --e2e-frames 600 --ffmpeg-frames 600 --no-torch
step e2e-640-cuda node dist/bench/bench.js --style candy --device cuda --size 640x360 --model-frames 200 --e2e-frames 600 --no-torch
echo "results in $OUT" | tee -a "$OUT/summary.txt"
