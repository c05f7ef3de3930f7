#!/usr/bin/env bash
# models/previews/<id>.jpg: a frame of real footage never used in training
# (mdn_friday.mp4 from ../shared/data/videos, CC0, at 3 s) beside the same frame
# stylized by models/<id>.onnx at 360p, never the painting; the manifest's
# "preview" field is set to it. Without ../shared it falls back to a frame of
# the generated sample clip.
#   bash scripts/make-preview.sh ID [MODEL_DIR]
# Env: PREVIEW_SOURCE (a video), PREVIEW_AT (seconds).
set -euo pipefail
cd "$(dirname "$0")/.."
id=$1
dir=${2:-models}
mkdir -p models/previews
source=${PREVIEW_SOURCE:-../shared/data/videos/mdn_friday.mp4}
at=${PREVIEW_AT:-3}
if [ ! -s "$source" ]; then
  echo "make-preview: $source not found; using the generated sample clip" >&2
  [ -s samples/sample.mp4 ] || bash scripts/make-sample.sh
  source=samples/sample.mp4 at=2.5
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
ffmpeg -nostdin -v error -ss "$at" -i "$source" -frames:v 1 -vf scale=-2:360 "$tmp/frame.png"
node dist/cli/main.js stylize "$tmp/frame.png" -o "$tmp/styled.mkv" --style "$dir/$id.onnx" --preset quality -q -y >/dev/null
ffmpeg -nostdin -v error -i "$tmp/frame.png" -i "$tmp/styled.mkv" -filter_complex "[0:v][1:v]hstack=inputs=2" \
  -frames:v 1 -q:v 3 "$tmp/preview.jpg"
mv "$tmp/preview.jpg" "models/previews/$id.jpg"
/usr/bin/python3 -c 'import sys; from trainer import manifest; manifest.update(sys.argv[1], preview=sys.argv[2])' "$dir/$id.json" "previews/$id.jpg"
echo "wrote models/previews/$id.jpg"
