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
  declare -A recipe=()
  while IFS=$'\t' read -r key value; do recipe[$key]=$value; done < <($PY - "$id" <<'PYEOF'
import json, sys
r = json.load(open("trainer/styles.json"))[sys.argv[1]]
fields = {"image": r["image"], "args": " ".join(r["args"]), "out": r.get("out", "models"),
          "unlisted": "--unlisted" if r.get("unlisted") else ""}
fields.update({k: r.get(k, "") for k in ("title", "painting", "artist", "year", "licence", "source")})
for key, value in fields.items():
    print(f"{key}\t{value}")
PYEOF
)
  image=${recipe[image]} args=${recipe[args]} out=${recipe[out]}
  echo "== $id: training on $STYLES_DIR/$image ($args)"
  # shellcheck disable=SC2086
  $PY -m trainer train --style "$STYLES_DIR/$image" --run "runs/$id" $args ${TRAIN_EXTRA:-}
  $PY -m trainer export --checkpoint "runs/$id/checkpoint.pt" --id "$id" --out "$out" \
    --title "${recipe[title]}" --painting "${recipe[painting]}" --artist "${recipe[artist]}" --year "${recipe[year]}" \
    --licence "${recipe[licence]}" --source "${recipe[source]}" ${recipe[unlisted]}
done
