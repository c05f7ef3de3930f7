#!/usr/bin/env bash
# After `export`: preview image, evaluation metrics, blob count and CPU speed into the
# manifest, and the fp16 variant (from runs/ID/checkpoint.pt when it exists).
#   bash scripts/finish-style.sh ID [MODEL_DIR]
# SKIP_BENCH=1 leaves the recorded CPU speed alone (a loaded machine measures nothing useful;
# a retrained network of the same shape runs at the speed already recorded).
set -euo pipefail
cd "$(dirname "$0")/.."
id=$1
dir=${2:-models}
if [ -f "runs/$id/checkpoint.pt" ] && [ "$dir" = models ]; then
  /usr/bin/python3 - "$id" <<'PY' 2>/dev/null
import json, sys
from trainer import reconet
from trainer.onnx_files import export_fp16
model_id = sys.argv[1]
net, _ = reconet.load(f"runs/{model_id}/checkpoint.pt")
export_fp16(net, "models", model_id, json.load(open(f"models/{model_id}.json")))
PY
fi
bash scripts/make-preview.sh "$id" "$dir"
mkdir -p bench/results
/usr/bin/python3 -m trainer eval --model "$dir/$id.onnx" --out "bench/results/eval-$id.json" --update-manifest 2>/dev/null
/usr/bin/python3 -m trainer blobs --model "$dir/$id.onnx" --out "bench/results/blobs-$id.json" --update-manifest
if [ -z "${SKIP_BENCH:-}" ]; then
  node dist/bench/bench.js --style "$dir/$id.onnx" --model-frames 10 --e2e-frames 20 --ffmpeg-frames 60 --no-torch --record
fi
echo "finished $id"
