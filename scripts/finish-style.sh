#!/usr/bin/env bash
# After `export`: preview image, evaluation metrics, blob count and CPU speed into the
# manifest (`export --fp16` writes the fp16 variant).
#   bash scripts/finish-style.sh ID [MODEL_DIR]
# SKIP_BENCH=1 leaves the recorded CPU speed alone (a loaded machine measures nothing useful;
# a retrained network of the same shape runs at the speed already recorded).
set -euo pipefail
cd "$(dirname "$0")/.."
id=$1
dir=${2:-models}
bash scripts/make-preview.sh "$id" "$dir"
mkdir -p bench/results
/usr/bin/python3 -m trainer eval --model "$dir/$id.onnx" --out "bench/results/eval-$id.json" --update-manifest 2>/dev/null
/usr/bin/python3 -m trainer blobs --model "$dir/$id.onnx" --out "bench/results/blobs-$id.json" --update-manifest
if [ -z "${SKIP_BENCH:-}" ]; then
  node dist/bench/bench.js --style "$dir/$id.onnx" --model-frames 10 --e2e-frames 20 --ffmpeg-frames 60 --no-torch --record
fi
echo "finished $id"
