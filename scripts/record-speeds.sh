#!/usr/bin/env bash
# Measures model-only CPU fps at 640x360 output for every shipped model and fast
# variant and stores it in its manifest (metrics.cpu_fps_640x360, with the machine
# and a dated note). Run it on an otherwise idle machine: the figure is only as clean
# as the CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
for json in models/*.json; do
  id=$(basename "$json" .json)
  case "$id" in *-fp16) continue ;; esac
  node dist/bench/bench.js --style "models/$id.onnx" --model-frames 20 --e2e-frames 30 --ffmpeg-frames 60 --no-torch --record \
    | grep -E "recorded" || true
done
