#!/usr/bin/env bash
# Rebuilds shipped styles from their recipes (trainer/recipes/ID.json), one after another:
# each recipe's stages in order (inits taken from git, training runs in runs/, export into models/).
#   bash scripts/train-styles.sh candy starry-night ...     (every one-style recipe when none given)
# Training runs resume from their checkpoints, so re-running continues where it stopped.
# Env: DATA (default ../shared/data), THREADS (passed to each training stage).
# `python3 -m trainer recipe ID` prints a recipe's commands without running them.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
ids=("$@")
if ((${#ids[@]} == 0)); then
  mapfile -t ids < <(cd trainer/recipes && for f in *.json; do
    grep -q '"command": "export"' "$f" && echo "${f%.json}"; done)
fi
for id in "${ids[@]}"; do
  echo "== $id"
  $PY -m trainer recipe "$id" --execute --data "${DATA:-../shared/data}" ${THREADS:+--threads "$THREADS"}
  bash scripts/finish-style.sh "$id" "$($PY -c "import json,sys; a=json.load(open('trainer/recipes/'+sys.argv[1]+'.json'))['stages'][-1]['args']; print(a.get('out','models'))" "$id")"
done
