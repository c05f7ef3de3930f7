#!/usr/bin/env bash
# The GPU check, one run: the CUDA test and the benches a GPU lease should bring
# back (issue "use the GPU a user has"). Writes everything to OUT (default
# bench/results/gpu/<date>), one log per step, and goes on past a failed step;
# each step is bounded (STEP_SECONDS, default 240) so the whole check fits a
# short lease (about 8 minutes on an H100-class GPU).
# Needs: node 20 on PATH, node_modules and dist/ (here: npm ci && npm run build; on a
# bare device machine: scripts/device-pack.sh), for CUDA the provider libraries
# (`bash scripts/setup-cuda.sh --cuda13`, or device-pack's staged copy) and
# CUDA 13 / cuDNN 9 on LD_LIBRARY_PATH, for WebGPU a GPU Vulkan driver and loader.
# Installs nothing.
#   bash scripts/gpu-check.sh [OUT]          (DEVICES="webgpu" or "cuda" for one provider)
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-bench/results/gpu/$(date -u +%F)}
STEP_SECONDS=${STEP_SECONDS:-240}
# Which providers to measure (a lease may stage CUDA's libraries after a first WebGPU call).
DEVICES=${DEVICES:-cuda webgpu}
mkdir -p "$OUT"
step() { local name=$1; shift; echo "== $name: $*" | tee -a "$OUT/summary.txt"; timeout "$STEP_SECONDS" "$@" >"$OUT/$name.txt" 2>&1; echo "   exit $?" | tee -a "$OUT/summary.txt"; }
{ date -u; uname -a; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1; node --version; command -v ffmpeg || echo "no ffmpeg"; } > "$OUT/machine.txt"
if [[ " $DEVICES " != *" cuda "* ]]; then
  echo "== test-cuda: skipped (DEVICES=$DEVICES)" | tee -a "$OUT/summary.txt"
elif [ -x node_modules/.bin/vitest ]; then
  step test-cuda env STYLECAST_TEST_CUDA=1 node_modules/.bin/vitest run test/integration/engine.test.ts
else
  echo "== test-cuda: skipped (no vitest in node_modules; the model benches below still name the provider each row ran on)" | tee -a "$OUT/summary.txt"
fi
SIZES=640x360,1280x720,1920x1080
for device in $DEVICES; do
  # fp32 and the fp16 variant, frames as 8-bit pixels: sessions side by side x frames per run.
  step "model-candy-$device-grid" node dist/bench/model-bench.js --style candy --device "$device" --sizes "$SIZES" --frames 100 --pixels-only --lanes 1,2,4 --batch 1,4,8
  # One frame at a time, 8-bit pixels against float tensors (what crossing the bus small is worth).
  step "model-candy-$device-io" node dist/bench/model-bench.js --style candy --device "$device" --sizes "$SIZES" --frames 100 --no-fp16
  step "model-candy-fast-$device" node dist/bench/model-bench.js --style candy-fast --device "$device" --sizes "$SIZES" --frames 100 --no-fp16 --pixels-only --lanes 1,2 --batch 1,8
done
# End to end: a 1080p file through decode, the model and encode (needs ffmpeg on the machine).
if [[ " $DEVICES " != *" cuda "* ]]; then
  echo "== e2e: skipped (DEVICES=$DEVICES)" | tee -a "$OUT/summary.txt"
elif command -v ffmpeg >/dev/null; then
  # A clip made here (the model's speed does not depend on the picture): the machine has no shared data.
  CLIP=${CLIP:-$OUT/clip-1080p.mp4}
  [ -f "$CLIP" ] || ffmpeg -v error -f lavfi -i testsrc2=size=1920x1080:rate=30 -t 20 -c:v libx264 -preset veryfast -pix_fmt yuv420p "$CLIP"
  for batch in 1 8; do
    step "e2e-1080p-cuda-b$batch" node dist/bench/bench.js --input "$CLIP" --style candy --device cuda --size 1920x1080 --batch "$batch" --lanes 2 --model-frames 100 --e2e-frames 600 --ffmpeg-frames 600 --no-torch
  done
  step e2e-640-cuda node dist/bench/bench.js --input "$CLIP" --style candy --device cuda --size 640x360 --batch 8 --lanes 2 --model-frames 200 --e2e-frames 600 --no-torch
  rm -f "$OUT/clip-1080p.mp4"
else
  echo "== e2e: skipped (no ffmpeg on this machine)" | tee -a "$OUT/summary.txt"
fi
echo "results in $OUT" | tee -a "$OUT/summary.txt"
