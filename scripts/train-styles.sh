#!/usr/bin/env bash
# Trains and exports shipped styles from trainer/styles.json, one after another.
#   bash scripts/train-styles.sh candy starry-night ...     (all recipes when none given)
# Runs are resumable (runs/<id>/checkpoint.pt); re-running continues where it stopped.
# Env: STYLES_DIR (default ../shared/data/styles), TRAIN_EXTRA (extra train args, e.g. --device cuda).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
STYLES_DIR=${STYLES_DIR:-../shared/data/styles}
ids=("$@")
if ((${#ids[@]} == 0)); then
  mapfile -t ids < <($PY -c "import json; print('\n'.join(k for k in json.load(open('trainer/styles.json')) if not k.startswith('_')))")
fi
for id in "${ids[@]}"; do
  mapfile -t recipe < <($PY - "$id" <<'PYEOF'
import json, sys
r = json.load(open("trainer/styles.json"))[sys.argv[1]]
print(r["image"]); print(" ".join(r["args"])); print(r.get("out", "models"))
for k in ("title", "painting", "artist", "year", "licence", "source"):
    print(r.get(k, ""))
print("--unlisted" if r.get("unlisted") else "")
PYEOF
)
  image=${recipe[0]} args=${recipe[1]} out=${recipe[2]}
  echo "== $id: training on $STYLES_DIR/$image ($args)"
  # shellcheck disable=SC2086
  $PY -m trainer train --style "$STYLES_DIR/$image" --run "runs/$id" $args ${TRAIN_EXTRA:-}
  $PY -m trainer export --checkpoint "runs/$id/checkpoint.pt" --id "$id" --out "$out" \
    --title "${recipe[3]}" --painting "${recipe[4]}" --artist "${recipe[5]}" --year "${recipe[6]}" \
    --licence "${recipe[7]}" --source "${recipe[8]}" ${recipe[9]}
done
