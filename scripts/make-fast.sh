#!/usr/bin/env bash
# The fast variant of a trained style: evolutionary pruning, fine-tuning with
# distillation from the original (plus the trainer's own losses, temporal ones
# included) as the runtime runs it (half size, upscaled, losses at full size),
# export as <id>-fast, preview and evaluation.
#   bash scripts/make-fast.sh ID     (needs runs/ID/checkpoint.pt and trainer/styles.json's recipe)
# The fine-tune's settings come from the recipe's "fast" entry (steps, temporal and
# feature-temporal weights, upscale, teacher, style weight if not the full model's: docs/speed.md says how they
# were chosen); env overrides:
# STEPS, TEMPORAL, FEATURE_TEMPORAL, GAMMA (4.0), GENERATIONS (20), MODEL_SCALE (0.5),
# RUN (runs/ID-fast; a finished run is exported as is), INIT (start the fine-tune from this
# pruned network instead of searching one, e.g. an earlier models/ID-fast.onnx), THREADS (0: one per core; 1 when
# making two side by side), STYLES_DIR (../shared/data/styles), UPSCALE=1 (train --upscale: the network halves the
# frame itself and paints full size through a sub-pixel head; the variant then runs at model scale 1),
# TEACHER (the checkpoint of the shipped full model: the recipe's, else runs/ID/checkpoint.pt).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
id=$1
STYLES_DIR=${STYLES_DIR:-../shared/data/styles}
run=${RUN:-runs/$id-fast}
# The recipe's fields by name (recipe[image], recipe[style_weight], ...): one "key<TAB>value" per line.
declare -A recipe
while IFS=$'\t' read -r key value; do recipe[$key]=$value; done < <($PY - "$id" <<'PYEOF'
import json, sys
r = json.load(open("trainer/styles.json"))[sys.argv[1]]
a = r["args"]
fast = r.get("fast", {})
fields = {k: r.get(k, "") for k in ("image", "title", "painting", "artist", "year", "licence", "source")}
fields["style_weight"] = a[a.index("--style-weight") + 1] if "--style-weight" in a else "0.01"
fields["style_norm"] = a[a.index("--style-norm") + 1] if "--style-norm" in a else "sum"
fields["fast_steps"] = fast.get("steps", 300)
fields["fast_style_weight"] = fast.get("style_weight", fields["style_weight"])
fields["fast_temporal_weight"] = fast.get("temporal_weight", 6e6)
fields["fast_feature_temporal_weight"] = fast.get("feature_temporal_weight", 3e3)
fields["fast_upscale"] = int(fast.get("upscale", 0))
fields["teacher"] = fast.get("teacher", f"runs/{sys.argv[1]}/checkpoint.pt")
for key, value in fields.items():
    print(f"{key}\t{value}")
PYEOF
)
init=${INIT:-runs/$id-prune/pruned.pt}
upscale=()
model_scale=${MODEL_SCALE:-0.5}
if [ "${UPSCALE:-${recipe[fast_upscale]}}" = 1 ]; then upscale=(--upscale); model_scale=1; fi
[ -n "${INIT:-}" ] || [ -f "runs/$id-prune/pruned.pt" ] || $PY -m trainer prune --checkpoint "${TEACHER:-${recipe[teacher]}}" --out "runs/$id-prune" \
  --population 20 --generations "${GENERATIONS:-20}" --gamma "${GAMMA:-4.0}" --min-channels 4 --threads "${THREADS:-0}"
$PY -m trainer train --style "$STYLES_DIR/${recipe[image]}" --run "$run" --init "$init" \
  --teacher "${TEACHER:-${recipe[teacher]}}" --size 160 --batch 2 --steps "${STEPS:-${recipe[fast_steps]}}" --checkpoint-every 25 --log-every 10 --threads "${THREADS:-0}" \
  --model-scale "$model_scale" "${upscale[@]}" --style-weight "${recipe[fast_style_weight]}" --style-norm "${recipe[style_norm]}" \
  --temporal-weight "${TEMPORAL:-${recipe[fast_temporal_weight]}}" --feature-temporal-weight "${FEATURE_TEMPORAL:-${recipe[fast_feature_temporal_weight]}}"
$PY -m trainer export --checkpoint "$run/checkpoint.pt" --id "$id-fast" --title "${recipe[title]} (fast)" \
  --painting "${recipe[painting]}" --artist "${recipe[artist]}" --year "${recipe[year]}" --licence "${recipe[licence]}" --source "${recipe[source]}" \
  --variant fast --variant-of "$id" --model-scale "$model_scale"
bash scripts/make-preview.sh "$id-fast"
mkdir -p bench/results
$PY -m trainer eval --model "models/$id-fast.onnx" --style "$STYLES_DIR/${recipe[image]}" --out "bench/results/eval-$id-fast.json" --update-manifest 2>/dev/null
echo "made $id-fast (record its speed with: node dist/bench/bench.js --style models/$id-fast.onnx --record, on an idle machine)"
