#!/usr/bin/env bash
# Measures a training checkpoint the way docs/lab compares candidates with a shipped
# model: exported with the shipped model's runtime settings (working size, model scale,
# variant), then the style gap, halo, colour and checkerboard on whole 720p frames and
# the blob count on the test set at 720p. Nothing under models/ changes; the figures go
# to runs/check/<name>/ (eval.json, blobs-720.json). About 5 CPU-minutes on 2 cores.
#   bash scripts/measure-checkpoint.sh [--data ../shared/data] [--frames 720p,1080p] CHECKPOINT ID [NAME]
# ID: the shipped model the checkpoint would replace (models/ID.json gives the settings).
# NAME: default RUN-STEP from the checkpoint's path (runs/x/step50.pt -> x-step50).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=../shared/data
FRAMES=720p
while [[ "${1:-}" == --* ]]; do
  case $1 in
    --data) DATA=$2; shift 2 ;;
    --frames) FRAMES=$2; shift 2 ;;
    *) echo "measure-checkpoint: unknown option $1" >&2; exit 2 ;;
  esac
done
if [[ $# -lt 2 ]]; then
  echo "usage: bash scripts/measure-checkpoint.sh [--data DIR] [--frames 720p,1080p] CHECKPOINT ID [NAME]" >&2
  exit 2
fi
CHECKPOINT=$1 ID=$2
[[ -f "$CHECKPOINT" ]] || { echo "measure-checkpoint: no checkpoint at $CHECKPOINT" >&2; exit 1; }
[[ -f "models/$ID.json" ]] || { echo "measure-checkpoint: no shipped model models/$ID.json to take the runtime settings from" >&2; exit 1; }
NAME=${3:-$(basename "$(dirname "$CHECKPOINT")")-$(basename "$CHECKPOINT" .pt)}
OUT=runs/check/$NAME
PY=/usr/bin/python3
# The shipped manifest, not the checkpoint's init, says how the runtime runs this model:
# a manifest copied from an older commit may lack the working size and measure another model.
mapfile -t EXPORT_ARGS < <($PY - "models/$ID.json" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
runtime = m.get("runtime", {})
args = []
if "nativeShortSide" in runtime:
    args += ["--native-short-side", str(runtime["nativeShortSide"])]
if "modelScale" in runtime:
    args += ["--model-scale", str(runtime["modelScale"])]
if m.get("variant"):
    args += ["--variant", m["variant"]]
if m.get("variantOf"):
    args += ["--variant-of", m["variantOf"]]
print("\n".join(args))
EOF
)
mkdir -p "$OUT"
echo "== $NAME: export (${EXPORT_ARGS[*]:-no runtime settings})"
$PY -m trainer export --checkpoint "$CHECKPOINT" --id "$ID" --out "$OUT" "${EXPORT_ARGS[@]}" > "$OUT/export.log" 2>&1 \
  || { echo "measure-checkpoint: export failed, see $OUT/export.log" >&2; exit 1; }
echo "== $NAME: style gap, halo, colour at $FRAMES"
$PY -m trainer eval --model "$OUT/$ID.onnx" --data "$DATA" --frames "$FRAMES" --frames-only --out "$OUT/eval.json"
echo "== $NAME: blobs at 720p"
$PY -m trainer blobs --model "$OUT/$ID.onnx" --data "$DATA" --height 720 --out "$OUT/blobs-720.json"
$PY - "$OUT" <<'EOF'
import json, os, sys
out = sys.argv[1]
metrics = json.load(open(os.path.join(out, "eval.json")))["metrics"]
blobs = json.load(open(os.path.join(out, "blobs-720.json")))
parts = [f"{k.replace('style_gap_closed_', 'style ')} {100 * v:.1f}%" for k, v in sorted(metrics.items())
         if k.startswith("style_gap_closed_") and v is not None]
parts += [f"{k.replace('halo_width_px_', 'halo ')} {v} px" for k, v in sorted(metrics.items())
          if k.startswith("halo_width_px_") and v is not None]
parts += [f"{k.replace('edge_contrast_kept_', 'edge contrast ')} {v:.2f}" for k, v in sorted(metrics.items())
          if k.startswith("edge_contrast_kept_") and v is not None]
parts.append(f"blobs 720p {blobs['blobs']} ({blobs['flagged_images']} flagged)")
print(f"{os.path.basename(out)}: " + ", ".join(parts))
EOF
