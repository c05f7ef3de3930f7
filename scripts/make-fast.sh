#!/usr/bin/env bash
# The fast variant of a trained style: evolutionary pruning, fine-tuning with
# distillation from the original (plus the trainer's own losses, temporal ones
# included) as the runtime runs it (half size, upscaled, losses at full size),
# export as <id>-fast, preview and evaluation.
#   bash scripts/make-fast.sh ID     (needs runs/ID/checkpoint.pt and trainer/recipes/ID.json)
# The painting, its credits and the style loss come from the style's recipe (trainer/recipes/ID.json);
# the fine-tune's settings from env (docs/speed.md says how the shipped variants' were chosen; each
# shipped variant's own recipe, trainer/recipes/ID-fast.json, holds what it was last fine-tuned with):
# STEPS (300), TEMPORAL (16e6), FEATURE_TEMPORAL (8e3), STYLE_WEIGHT (the style's), GAMMA (4.0), GENERATIONS (20), MODEL_SCALE (0.5),
# RUN (runs/ID-fast; a finished run is exported as is), INIT (start the fine-tune from this
# pruned network instead of searching one, e.g. an earlier models/ID-fast.onnx), THREADS (0: one per core; 1 when
# making two side by side), STYLES_DIR (../shared/data/styles), UPSCALE (1: train --upscale: the network halves the
# frame itself and paints full size through a sub-pixel head; the variant then runs at model scale 1),
# TEACHER (the full model's checkpoint, default runs/ID/checkpoint.pt).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
id=$1
STYLES_DIR=${STYLES_DIR:-../shared/data/styles}
run=${RUN:-runs/$id-fast}
# The style's settings by name (recipe[image], recipe[style_weight], ...), from its recipe
# (trainer/recipes/ID.json): one "key<TAB>value" per line.
declare -A recipe
while IFS=$'\t' read -r key value; do recipe[$key]=$value; done < <($PY - "$id" <<'PYEOF'
import sys
from trainer.lineage import load, style_settings
for key, value in style_settings(load(sys.argv[1])).items():
    print(f"{key}\t{value}")
PYEOF
)
init=${INIT:-runs/$id-prune/pruned.pt}
upscale=()
model_scale=${MODEL_SCALE:-0.5}
if [ "${UPSCALE:-1}" = 1 ]; then upscale=(--upscale); model_scale=1; fi
[ -n "${INIT:-}" ] || [ -f "runs/$id-prune/pruned.pt" ] || $PY -m trainer prune --checkpoint "${TEACHER:-runs/$id/checkpoint.pt}" --out "runs/$id-prune" \
  --population 20 --generations "${GENERATIONS:-20}" --gamma "${GAMMA:-4.0}" --min-channels 4 --threads "${THREADS:-0}"
$PY -m trainer train --style "$STYLES_DIR/${recipe[image]}" --run "$run" --init "$init" \
  --teacher "${TEACHER:-runs/$id/checkpoint.pt}" --size 160 --batch 2 --steps "${STEPS:-300}" --checkpoint-every 25 --log-every 10 --threads "${THREADS:-0}" \
  --model-scale "$model_scale" "${upscale[@]}" --style-weight "${STYLE_WEIGHT:-${recipe[style_weight]}}" --style-norm "${recipe[style_norm]}" \
  --temporal-weight "${TEMPORAL:-16e6}" --feature-temporal-weight "${FEATURE_TEMPORAL:-8e3}"
$PY -m trainer export --checkpoint "$run/checkpoint.pt" --id "$id-fast" --title "${recipe[title]} (fast)" \
  --painting "${recipe[painting]}" --artist "${recipe[artist]}" --year "${recipe[year]}" --licence "${recipe[licence]}" --source "${recipe[source]}" \
  --variant fast --variant-of "$id" --model-scale "$model_scale"
bash scripts/make-preview.sh "$id-fast"
mkdir -p bench/results
$PY -m trainer eval --model "models/$id-fast.onnx" --style "$STYLES_DIR/${recipe[image]}" --out "bench/results/eval-$id-fast.json" --update-manifest 2>/dev/null
echo "made $id-fast (record its speed with: node dist/bench/bench.js --style models/$id-fast.onnx --record, on an idle machine)"
