#!/usr/bin/env bash
# Measures model-only CPU fps at 640x360 output for every shipped model and fast
# variant and stores it in its manifest (metrics.cpu_fps_640x360, with the machine
# and a dated note). Run it on an otherwise idle machine: the figure is only as clean
# as the CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
kept=$(mktemp -d)
trap 'rm -rf "$kept"' EXIT
for json in models/*.json; do
  id=$(basename "$json" .json)
  case "$id" in *-fp16) continue ;; esac
  cp "$json" "$kept/$id.json"
  node dist/bench/bench.js --style "models/$id.onnx" --model-frames 20 --e2e-frames 30 --ffmpeg-frames 60 --no-torch --record \
    | grep -E "recorded" || true
  # bench rewrites the whole manifest through JavaScript, which spells the trainer's
  # floats differently (1.0 -> 1): keep the file as it was but for the three fields.
  /usr/bin/python3 - "$kept/$id.json" "$json" <<'PY'
import json, sys
before_path, after_path = sys.argv[1:]
before, after = json.load(open(before_path)), json.load(open(after_path))
fields = ("cpu_fps_640x360", "cpu_fps_machine", "cpu_fps_note")
before.setdefault("metrics", {}).update({k: after["metrics"][k] for k in fields if k in after.get("metrics", {})})
with open(after_path, "w") as f:
    f.write(json.dumps(before, indent=2, ensure_ascii=False) + "\n")
PY
done
