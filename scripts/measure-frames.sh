#!/usr/bin/env bash
# Measures every model named (default: the shipped one-style models and their fast
# variants) where users watch: the style gap at 720p and 1080p and the blob count at
# 720p and 1080p, each model run as the runtime runs it (working size, model scale),
# and stores the figures in its manifest. Long (about 10 CPU-minutes a model on
# 2 cores); figures go to runs/measure-frames/<id>.json as well.
#   bash scripts/measure-frames.sh [--data ../shared/data] [ID ...]
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=../shared/data
if [[ "${1:-}" == "--data" ]]; then DATA=$2; shift 2; fi
IDS=("$@")
if [[ ${#IDS[@]} -eq 0 ]]; then
  IDS=(candy mosaic udnie the-scream picasso starry-night candy-fast mosaic-fast udnie-fast the-scream-fast picasso-fast starry-night-fast)
fi
PY=/usr/bin/python3
mkdir -p runs/measure-frames
for id in "${IDS[@]}"; do
  echo "== $id"
  $PY -m trainer eval --model "$id" --data "$DATA" --frames 720p,1080p --frames-only --update-manifest --out "runs/measure-frames/$id.json"
  for height in 720 1080; do
    $PY -m trainer blobs --model "$id" --data "$DATA" --height "$height" --update-manifest --out "runs/measure-frames/$id-blobs-$height.json"
  done
done
