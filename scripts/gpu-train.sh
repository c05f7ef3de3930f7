#!/usr/bin/env bash
# Trains every shipped style (and the proof pairs' no-temporal baselines, and the
# any-painting fine-tune) at once on one CUDA GPU, each run in the background for
# MINUTES, then stopped with SIGINT (the trainer checkpoints and exits). Runs resume:
# calling it again continues each run where it stopped.
#   bash scripts/gpu-train.sh start DATA RUNS MINUTES   # DATA laid out as ../shared/data
#   bash scripts/gpu-train.sh blob DATA RUNS MINUTES    # the blob-penalty fine-tunes of the shipped candy,
#                                                       # starry-night, udnie and picasso (BLOB_STYLES: only these)
#   bash scripts/gpu-train.sh levers DATA RUNS MINUTES  # the shipped styles fine-tuned with the deep style levels and the
#                                                       # halo penalty (DEEP, HALO), and three controls without them;
#                                                       # RECOLOUR=1 also holds each to its shipped self recoloured into
#                                                       # its painting's palette (--recolour-teacher, weight
#                                                       # RECOLOUR_DISTILL, default 0.25, as the fast variants' teacher)
#   bash scripts/gpu-train.sh fast DATA RUNS MINUTES    # every fast variant fine-tuned from its shipped self towards its
#                                                       # full model (teacher style) and the painting (HALO adds the halo penalty,
#                                                       # WORKING_SCALE=1 crops at each working size, HALO_TARGET=teacher
#                                                       # holds the rim to the full model's profile, TEACHER_TILES=32
#                                                       # takes the teacher's style over 32 px tiles, TONE=1000 adds
#                                                       # the teacher's local lightness)
#   bash scripts/gpu-train.sh status RUNS               # last log line of each run
#   bash scripts/gpu-train.sh pause|resume              # SIGSTOP/SIGCONT (while timing something else)
#   bash scripts/gpu-train.sh collect RUNS OUT          # checkpoints without optimizer state, 2 per tar
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

# id | arguments (docs/training.md records each run). The painting at 384 px: at 256 px the
# networks painted its shapes at half the size the style gap measure compares.
# STYLE_SIZE=256 reproduces the earlier runs at 256 px.
STYLE_SIZE=${STYLE_SIZE:-384}
RECONET_COMMON="--width 32 --blocks 4 --sizes 256,320 --style-size $STYLE_SIZE --batch 8 --steps 100000 --style-norm balanced
  --temporal-weight 4e6 --feature-temporal-weight 2e3 --checkpoint-every 250 --log-every 50 --threads 2 --device cuda"
RUNS=(
  "candy-g|--style STYLES/candy.jpg --style-weight 8e4"
  "candy-g-nt|--style STYLES/candy.jpg --style-weight 8e4 --no-temporal"
  "mosaic-g|--style STYLES/mosaic.jpg --style-weight 2e5"
  "mosaic-g-nt|--style STYLES/mosaic.jpg --style-weight 2e5 --no-temporal"
  "picasso-g|--style STYLES/picasso_self_portrait.jpg --style-weight 2e5"
  "starry-night-g|--style STYLES/starry_night.jpg --style-weight 3e5"
  "the-scream-g|--style STYLES/the_scream.jpg --style-weight 1e5"
  "udnie-g|--style STYLES/udnie.jpg --style-weight 1.5e5"
)
# Blob penalty at the full recipe, from the shipped network (--init), alone ("pen") and with the
# network held to itself outside the detected blobs ("held"). Six runs hold about 69 GB of an H100
# and made 1.5 (pen) and 1.2 (held) steps/s each, side by side.
# Every fine-tune from a shipped network (blob, levers, fast) shares these.
FINETUNE_COMMON="--sizes 256,320 --style-size $STYLE_SIZE --batch 8 --steps 100000 --style-norm balanced --lr 3e-4 --checkpoint-every 100
  --log-every 25 --threads 2 --device cuda"
# FLAT_PICK=4: each crop the flattest of 4, where the blob penalty acts (3.6x the blob pixels it sees;
# at the CPU's batch 2 it did not settle picasso's blobs: docs/lab/2026-12-06-flat-crops-and-halo-free-distillation.md).
# EDGE_PICK=4 (with HALO in levers and fast): each crop the one of 4 with the most dark-shape edges on a flat
# background, so the halo penalty acts in most steps (candy's rim 7 -> 1 px at 720p on the CPU at halo 3e8:
# docs/lab/2026-12-06-candy-rim-edge-pick.md). Not together with FLAT_PICK in one run.
BLOB_COMMON="$FINETUNE_COMMON --blob-weight 3e9 --blob-target detected --blob-margin 0.06${FLAT_PICK:+ --flat-pick $FLAT_PICK}"
BLOB_HELD="--distill-weight 1 --distill-region outside-blobs"
BLOB_RUNS=(
  "candy|candy|--style-weight 8e4 --temporal-weight 4e6 --feature-temporal-weight 2e3"
  "starry-night|starry_night|--style-weight 3e5 --temporal-weight 4e6 --feature-temporal-weight 2e3"
  "udnie|udnie|--style-weight 1.5e5 --temporal-weight 2e6 --feature-temporal-weight 1e3"
  "picasso|picasso_self_portrait|--style-weight 2e5 --temporal-weight 4e6 --feature-temporal-weight 2e3"
)
# Four styles make eight runs: by the figure above about 92 GB, an H200's memory. On an H100 name
# three of them: BLOB_STYLES="candy starry-night picasso".
# The levers tried on the CPU at batch 2 (docs/lab/2026-12-04-deeper-style-levels.md, -halos.md), at the
# GPU recipe's batch: from each shipped network, blob penalty kept. Controls ("-ctl") share everything else.
LEVER_COMMON=$BLOB_COMMON
# Field 4: the runs made from the entry, "ctl" a control without the levers (same steps, same recipe).
# The two styles furthest from the goal also try twice their style weight ("lev-sw2").
LEVER_RUNS=(
  "candy|candy|--style-weight 8e4 --temporal-weight 4e6 --feature-temporal-weight 2e3|lev"
  "mosaic|mosaic|--style-weight 2e5 --temporal-weight 4e6 --feature-temporal-weight 2e3|lev"
  "picasso|picasso_self_portrait|--style-weight 2e5 --temporal-weight 4e6 --feature-temporal-weight 2e3|lev"
  "picasso|picasso_self_portrait|--style-weight 4e5 --temporal-weight 4e6 --feature-temporal-weight 2e3|lev-sw2"
  "starry-night|starry_night|--style-weight 3e5 --temporal-weight 4e6 --feature-temporal-weight 2e3|lev ctl"
  "starry-night|starry_night|--style-weight 6e5 --temporal-weight 4e6 --feature-temporal-weight 2e3|lev-sw2"
  "the-scream|the_scream|--style-weight 1e5 --temporal-weight 4e6 --feature-temporal-weight 2e3|lev"
  "udnie|udnie|--style-weight 1.5e5 --temporal-weight 2e6 --feature-temporal-weight 1e3|lev"
)
# The fast variants (pruned, sub-pixel head) learn from their full model's output on each frame (its
# style, lightly its pixels) and from the painting, with no content term: the teacher's pixels hold
# the content. docs/lab/2026-12-04-fast-from-new-teachers.md and -fast-teacher-and-painting.md record the CPU runs;
# mosaic-fast, a pale wash at batch 2, also gets the teacher's colour (lab/2026-12-06-mosaic-fast-colour-term.md).
FAST_COMMON="$FINETUNE_COMMON --content-weight 0 --teacher-style-weight 2e5 --distill-weight 0.25
  --blob-weight 1e9 --blob-target flat --blob-margin 0.06 --blob-flat-limit 0.05"
FAST_RUNS=(
  "candy|candy|--style-weight 1.2e5 --temporal-weight 1.2e7 --feature-temporal-weight 6e3"
  "mosaic|mosaic|--style-weight 2e5 --temporal-weight 8e6 --feature-temporal-weight 4e3 --teacher-colour-weight 300"
  "picasso|picasso_self_portrait|--style-weight 2e5 --temporal-weight 8e6 --feature-temporal-weight 4e3"
  "starry-night|starry_night|--style-weight 6e5 --temporal-weight 1.6e7 --feature-temporal-weight 8e3"
  "the-scream|the_scream|--style-weight 1e5 --temporal-weight 8e6 --feature-temporal-weight 4e3"
  "udnie|udnie|--style-weight 1.5e5 --temporal-weight 8e6 --feature-temporal-weight 4e3"
)
PAINTER_COMMON="--network magenta --size 256 --batch 4 --steps 100000 --checkpoint-every 100 --threads 2 --device cuda"
PAINTER_RUNS=(
  "magenta-g1|--temporal-weight 1e6 --feature-temporal-weight 500"
  "magenta-g05|--temporal-weight 5e5 --feature-temporal-weight 250"
)

# Measured on one H100 (80 GB): a ReCoNet run at batch 8 with 320 px crops holds about 11 GB and a
# Magenta run about 3.2 GB, so 6 ReCoNet runs and the 2 painter runs fit; 8 + 2 ran out of memory.
# Sharing the GPU, each ReCoNet run made about 1.4 steps/s and each painter run about 5.
export PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True

launch() {  # id minutes command...
  local id=$1 minutes=$2; shift 2
  setsid nohup timeout -s INT "${minutes}m" "$@" >>"$RUNS_DIR/$id.train.log" 2>&1 < /dev/null &
}

case "${1:-}" in
  start)
    DATA=$(realpath "$2"); RUNS_DIR=$(realpath -m "$3"); MINUTES=$4
    mkdir -p "$RUNS_DIR"
    for entry in "${RUNS[@]}"; do
      id=${entry%%|*}; args=${entry#*|}
      # shellcheck disable=SC2086
      launch "$id" "$MINUTES" $PY -m trainer train ${args//STYLES/$DATA/styles} --content "$DATA/content/bsds500" \
        --vgg "$DATA/weights/vgg19-tfjs" --run "$RUNS_DIR/$id" $RECONET_COMMON
    done
    for entry in "${PAINTER_RUNS[@]}"; do
      id=${entry%%|*}; args=${entry#*|}
      # shellcheck disable=SC2086
      launch "$id" "$MINUTES" $PY -m trainer adain-train --data "$DATA" --run "$RUNS_DIR/$id" $args $PAINTER_COMMON
    done
    echo "started $(( ${#RUNS[@]} + ${#PAINTER_RUNS[@]} )) runs for $MINUTES min in $RUNS_DIR"
    ;;
  blob)
    DATA=$(realpath "$2"); RUNS_DIR=$(realpath -m "$3"); MINUTES=$4
    mkdir -p "$RUNS_DIR"
    started=0
    for entry in "${BLOB_RUNS[@]}"; do
      IFS='|' read -r id image args <<<"$entry"
      if [ -n "${BLOB_STYLES:-}" ] && [[ " $BLOB_STYLES " != *" $id "* ]]; then continue; fi
      started=$((started + 1))
      for kind in pen held; do
        held=""; [ $kind = held ] && held="--teacher models/$id.onnx $BLOB_HELD"
        # shellcheck disable=SC2086
        launch "$id-$kind" "$MINUTES" $PY -m trainer train --style "$DATA/styles/$image.jpg" --init "models/$id.onnx" $held $args \
          --content "$DATA/content/bsds500" --vgg "$DATA/weights/vgg19-tfjs" --run "$RUNS_DIR/$id-$kind" $BLOB_COMMON
      done
    done
    echo "started $started x 2 blob-penalty runs for $MINUTES min in $RUNS_DIR"
    ;;
  levers)
    DATA=$(realpath "$2"); RUNS_DIR=$(realpath -m "$3"); MINUTES=$4
    mkdir -p "$RUNS_DIR"
    levers="--deep-style-weight ${DEEP:-0.25} --deep-encoder $DATA/weights/collab-distill-vgg19-16x --halo-weight ${HALO:-1e7} --halo-reach ${HALO_REACH:-30}${EDGE_PICK:+ --edge-pick $EDGE_PICK}"
    for entry in "${LEVER_RUNS[@]}"; do
      IFS='|' read -r id image args kinds <<<"$entry"
      # The colours a painting lacks (docs/lab/2026-12-05-off-palette.md): on the CPU at batch 2 the hold
      # that keeps the style also keeps most of them; here the painting's style terms stay on beside it.
      recolour=""
      [ -n "${RECOLOUR:-}" ] && recolour="--teacher models/$id.onnx --recolour-teacher --distill-weight ${RECOLOUR_DISTILL:-0.25}"
      for kind in $kinds; do
        extra="$levers $recolour"; [ "$kind" = ctl ] && extra=""
        # shellcheck disable=SC2086
        launch "$id-$kind" "$MINUTES" $PY -m trainer train --style "$DATA/styles/$image.jpg" --init "models/$id.onnx" $args $extra \
          --content "$DATA/content/bsds500" --vgg "$DATA/weights/vgg19-tfjs" --run "$RUNS_DIR/$id-$kind" $LEVER_COMMON
      done
    done
    echo "started the lever runs for $MINUTES min in $RUNS_DIR"
    ;;
  fast)
    DATA=$(realpath "$2"); RUNS_DIR=$(realpath -m "$3"); MINUTES=$4
    mkdir -p "$RUNS_DIR"
    # With the halo penalty the distillation leaves the halo band, so the teacher's own rim is not copied
    # back (candy-fast, the-scream-fast, udnie-fast on the CPU: docs/lab/2026-12-06-fast-rims-edge-pick.md).
    # HALO_TARGET=teacher: the rim held to the full model's own edge profile from the edge pixel on; on the
    # CPU at batch 2 it lost as much style as the flat target (docs/lab/2026-12-06-fast-rims-teacher-profile-and-decoder.md).
    fast_levers=""; [ -n "${HALO:-}" ] && fast_levers="--halo-weight $HALO --halo-reach ${HALO_REACH:-30} --distill-region outside-halos${EDGE_PICK:+ --edge-pick $EDGE_PICK}${HALO_TARGET:+ --halo-target $HALO_TARGET --halo-free-px 0}"
    # TEACHER_TILES=N: the teacher's style taken over N px tiles, so its light strokes cannot become a pale band
    # beside every dark shape; on the CPU mosaic-fast's band lost a fifth of its levels at 3-4 points of style
    # (docs/lab/2026-12-07-mosaic-fast-band.md).
    [ -n "${TEACHER_TILES:-}" ] && fast_levers="$fast_levers --teacher-style-window $TEACHER_TILES"
    # TONE=W: the teacher's local lightness (4 px blur) as a term; on the CPU it took 40% off mosaic-fast's band's
    # brightness, none of its width, for a point of style (docs/lab/2026-12-07-mosaic-fast-tone-and-size.md).
    [ -n "${TONE:-}" ] && fast_levers="$fast_levers --teacher-tone-weight $TONE"
    for entry in "${FAST_RUNS[@]}"; do
      IFS='|' read -r id image args <<<"$entry"
      # WORKING_SCALE=1: photos scaled to the variant's working size (its manifest's nativeShortSide) before
      # cropping, so the halo penalty sees each rim at the runtime's scale (picasso-fast's 1080p swell went
      # this way on the CPU: docs/lab/2026-12-06-fast-rims-at-working-scale.md).
      scale=""
      if [ -n "${WORKING_SCALE:-}" ]; then
        scale="--photo-size $($PY -c 'import json, sys; print(json.load(open(sys.argv[1]))["runtime"]["nativeShortSide"])' "models/$id-fast.json")"
      fi
      # shellcheck disable=SC2086
      launch "$id-fast" "$MINUTES" $PY -m trainer train --style "$DATA/styles/$image.jpg" --init "models/$id-fast.onnx" \
        --teacher "models/$id.onnx" $args $fast_levers $scale --content "$DATA/content/bsds500" --vgg "$DATA/weights/vgg19-tfjs" \
        --run "$RUNS_DIR/$id-fast" $FAST_COMMON
    done
    echo "started ${#FAST_RUNS[@]} fast-variant runs for $MINUTES min in $RUNS_DIR"
    ;;
  status)
    for log in "$2"/*.train.log; do printf '%s: %s\n' "$(basename "$log" .train.log)" "$(grep -v '^\s*$' "$log" | tail -1)"; done
    ;;
  # The bracket keeps the pattern from matching the shell that runs this very command.
  pause) pkill -STOP -f "[t]rainer (train|adain-train)" || true ;;
  resume) pkill -CONT -f "[t]rainer (train|adain-train)" || true ;;
  collect)
    RUNS_DIR=$2; OUT=$3; mkdir -p "$OUT/slim"
    for ckpt in "$RUNS_DIR"/*/checkpoint.pt; do
      id=$(basename "$(dirname "$ckpt")")
      $PY -c 'import sys, torch
s = torch.load(sys.argv[1], map_location="cpu"); s.pop("optimizer", None); torch.save(s, sys.argv[2])' \
        "$ckpt" "$OUT/slim/$id.pt"
    done
    (cd "$OUT/slim" && ls ./*.pt | xargs -n 2 | nl -w1 -s' ' | while read -r n files; do
      tar cf "$OUT/checkpoints-$n.tar" $files; done)
    tar czf "$OUT/logs.tar.gz" -C "$RUNS_DIR" $(cd "$RUNS_DIR" && ls ./*.train.log ./*/config.json)
    rm -rf "$OUT/slim"; ls -la "$OUT"
    ;;
  *) sed -n '2,13p' "$0"; exit 2 ;;
esac
