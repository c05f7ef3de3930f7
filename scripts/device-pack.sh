#!/usr/bin/env bash
# What a bare GPU machine needs to run scripts/gpu-check.sh, packed to travel
# there, and unpacked on arrival. Such a machine (the project's lent H100/H200)
# has Python and CUDA but no Node, no network, and takes at most 64 MiB per
# call: the tracked tree, what is not ignored, and the carried paths together.
#
# Here:
#   bash scripts/device-pack.sh pack         .device/: Node, the runtime's node_modules (linux-x64 only),
#                                            dist/, the Vulkan loader packages (WebGPU); xz-compressed
#   bash scripts/device-pack.sh pack-cuda    .device-cuda/part-NN: ONNX Runtime's CUDA provider libraries
#                                            (npm package of setup-cuda.sh --cuda13) in pieces of PART_MIB
#                                            (default 48), one piece per call
#   bash scripts/device-pack.sh aside        tracked files the check never reads (the other styles'
#                                            models, the contact sheets) out of the index and ignored
#                                            (they stay on disk), so the tree travels small; commit
#                                            nothing until `back`
#   bash scripts/device-pack.sh back         tracks them again
#   bash scripts/device-pack.sh size [PATH]  MiB that would travel with these carried paths
# There (first in a run's command; the run's working tree is the repository root):
#   bash scripts/device-pack.sh unpack       Node, node_modules and dist/ in place, .stage/env.sh written
#   bash scripts/device-pack.sh stage-cuda   adds the carried part(s) of .device-cuda/ to .stage/, and
#                                            installs the provider once every part has arrived
#   source .stage/env.sh                     Node on PATH, CUDA 13 and cuDNN 9 (from the machine's
#                                            PyTorch wheels) on LD_LIBRARY_PATH
# A machine stays warm only about 30 s between calls: stage the CUDA parts in
# calls that follow each other at once (docs/speed.md, "On a GPU machine").
set -euo pipefail
cd "$(dirname "$0")/.."
PACK=.device
CUDA_PACK=.device-cuda
STAGE=.stage
ASIDE_LIST=runs/device-aside.list
EXCLUDE_MARK='# device-pack aside: begin'
EXCLUDE_END='# device-pack aside: end'
LIMIT_MIB=64
ORT_BIN=node_modules/onnxruntime-node/bin/napi-v6/linux/x64
CUDA_PACKAGE=com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9
# What gpu-check reads from models/: candy, its fp16 variant and its fast variant, and the licences.
KEEP_MODELS='^models/(candy|candy-fp16|candy-fast)\.(onnx|json)$|^models/(LICENSES|NOTICE)'
die() { echo "device-pack: $*" >&2; exit 1; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }

# Bytes that travel: tracked files present, untracked files not ignored, and the carried paths.
travelling_bytes() {
  # Files set aside are still listed by git: stat skips them (and fails, which is expected here).
  { git ls-files -z; git ls-files -z --others --exclude-standard; } | { xargs -0 -r stat -c %s -- 2>/dev/null || true; } | awk '{ s += $1 } END { print s + 0 }'
}

size() {
  local tree carried=0 path
  tree=$(travelling_bytes)
  for path in "$@"; do [ -e "$path" ] && carried=$((carried + $(du -sb "$path" | cut -f1))); done
  local total=$((tree + carried))
  echo "travels: tree $(mib "$tree") MiB + carried $(mib "$carried") MiB = $(mib "$total") MiB (limit $LIMIT_MIB MiB)"
  [ "$total" -le $((LIMIT_MIB * 1048576)) ] || { echo "device-pack: over the limit" >&2; return 1; }
}

pack() {
  [ -d dist ] && [ -d node_modules/onnxruntime-node ] || die "build first: npm ci && npm run build"
  grep -qx "/$PACK/" .gitignore || die "$PACK/ must be ignored (.gitignore)"
  rm -rf "$PACK" && mkdir -p "$PACK/gl"
  echo "packing node $(node --version) ..."
  xz -T0 -6 -c "$(command -v node)" > "$PACK/node.xz"
  # The runtime's production dependencies, less the WebRTC addon (no live serving in the check)
  # and ONNX Runtime's binaries for other systems.
  local modules
  modules=$(npm ls --omit=dev --parseable --all 2>/dev/null | sed "s#^$PWD/##" | grep '^node_modules/' | grep -v '@roamhq' | sort -u)
  echo "packing $(echo "$modules" | wc -l) modules and dist/ ..."
  # shellcheck disable=SC2086
  tar -c --exclude='node_modules/onnxruntime-node/bin/napi-v6/darwin' --exclude='node_modules/onnxruntime-node/bin/napi-v6/win32' \
    --exclude='node_modules/onnxruntime-node/bin/napi-v6/linux/arm64' --exclude="$ORT_BIN/libonnxruntime_providers_*" \
    dist package.json $modules | xz -T0 -6 > "$PACK/runtime.tar.xz"
  # Vulkan and EGL loaders for WebGPU (the device's README: the machine has the driver, not always the loader).
  if command -v apt-get >/dev/null; then
    local lists=/tmp/device-pack-apt
    mkdir -p "$lists/partial"
    local opts=(-o APT::Architecture=amd64 -o APT::Architectures=amd64 -o "Dir::State::Lists=$lists")
    if apt-get "${opts[@]}" -qq update >/dev/null 2>&1; then
      (cd "$PACK/gl" && apt-get "${opts[@]}" -qq download libvulkan1 libegl1 libglvnd0 >/dev/null 2>&1) || echo "note: Vulkan loader packages not downloaded (WebGPU will need the machine's own)"
    else
      echo "note: apt lists not reachable: no Vulkan loader packages (WebGPU will need the machine's own)"
    fi
  fi
  ls -la "$PACK" "$PACK/gl"
  size "$PACK"
}

pack_cuda() {
  local part_mib=${PART_MIB:-48} tmp
  grep -qx "/$CUDA_PACK/" .gitignore || die "$CUDA_PACK/ must be ignored (.gitignore)"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  echo "fetching $CUDA_PACKAGE from the npm registry ..."
  (cd "$tmp" && npm pack --silent "$CUDA_PACKAGE" >/dev/null && tar xzf ./*.tgz)
  rm -rf "$CUDA_PACK" && mkdir -p "$CUDA_PACK"
  echo "compressing the provider libraries (minutes) ..."
  tar -C "$tmp/package/Plugins/Linux/x64" -c libonnxruntime_providers_cuda.so libonnxruntime_providers_shared.so | xz -T0 -6 \
    | split -b "${part_mib}M" -d -a 2 - "$CUDA_PACK/part-"
  (cd "$CUDA_PACK" && sha256sum part-* > SHA256SUMS && ls part-* | wc -l > COUNT)
  ls -la "$CUDA_PACK"
  echo "carry SHA256SUMS and COUNT with every part: one call per part, e.g. carry [\"$CUDA_PACK/part-00\", \"$CUDA_PACK/SHA256SUMS\", \"$CUDA_PACK/COUNT\"]"
}

aside() {
  [ ! -e "$ASIDE_LIST" ] || die "files are set aside already ($ASIDE_LIST): run 'back' first"
  local files
  files=$( { git ls-files models | grep -Ev "$KEEP_MODELS"; git ls-files docs | grep -E '\.(jpg|png)$'; } || true)
  [ -n "$files" ] || die "nothing to set aside"
  mkdir -p "$(dirname "$ASIDE_LIST")" .git/info
  printf '%s\n' "$files" > "$ASIDE_LIST"
  # Out of the index and ignored, the files stay on disk but neither tracked nor
  # untracked-and-not-ignored: they do not travel, however the tree is listed.
  git rm -q --cached --pathspec-from-file="$ASIDE_LIST"
  { echo "$EXCLUDE_MARK"; sed 's#^#/#' "$ASIDE_LIST"; echo "$EXCLUDE_END"; } >> .git/info/exclude
  echo "set aside $(wc -l < "$ASIDE_LIST") files (untracked and ignored until 'bash scripts/device-pack.sh back'; commit nothing meanwhile)"
  size
}

back() {
  [ -f "$ASIDE_LIST" ] || die "nothing set aside"
  git reset -q --pathspec-from-file="$ASIDE_LIST"
  sed -i "/^$EXCLUDE_MARK\$/,/^$EXCLUDE_END\$/d" .git/info/exclude
  rm -f "$ASIDE_LIST"
  [ -z "$(git status --short -- models docs)" ] || die "models/ or docs/ differ from the last commit after restoring (git status)"
  echo "restored"
}

unpack() {
  [ -f "$PACK/node.xz" ] || die "no $PACK/node.xz here: carry $PACK"
  mkdir -p "$STAGE/bin"
  xz -dc "$PACK/node.xz" > "$STAGE/bin/node" && chmod +x "$STAGE/bin/node"
  xz -dc "$PACK/runtime.tar.xz" | tar -x
  if compgen -G "$PACK/gl/*.deb" >/dev/null; then
    for deb in "$PACK"/gl/*.deb; do dpkg -x "$deb" "$STAGE/gl"; done
  fi
  write_env
  "$STAGE/bin/node" --version
  echo "unpacked: source $STAGE/env.sh"
}

write_env() {
  local cuda_libs="" site
  # CUDA 13 and cuDNN 9 come with the machine's PyTorch (nvidia-* wheels).
  site=$(python3 -c 'import nvidia, os; print(os.path.dirname(list(nvidia.__path__)[0]))' 2>/dev/null || true)
  if [ -n "$site" ]; then
    cuda_libs=$(find "$site/nvidia" -maxdepth 3 -type d -name lib 2>/dev/null | tr '\n' ':')
  fi
  local gl_libs=""
  [ -d "$STAGE/gl" ] && gl_libs="$PWD/$STAGE/gl/usr/lib/x86_64-linux-gnu:"
  cat > "$STAGE/env.sh" <<ENV
export PATH="$PWD/$STAGE/bin:\$PATH"
export LD_LIBRARY_PATH="${cuda_libs}${gl_libs}\${LD_LIBRARY_PATH:-}"
ENV
  # The NVIDIA driver's Vulkan and EGL manifests where the machine mounts them (its README).
  local icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json egl=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
  [ -f "$icd" ] && echo "export VK_DRIVER_FILES=$icd" >> "$STAGE/env.sh"
  [ -f "$egl" ] && echo "export __EGL_VENDOR_LIBRARY_FILENAMES=$egl" >> "$STAGE/env.sh"
  return 0
}

stage_cuda() {
  [ -f "$CUDA_PACK/COUNT" ] || die "carry $CUDA_PACK/COUNT and $CUDA_PACK/SHA256SUMS with each part"
  mkdir -p "$STAGE/cuda-parts"
  local part
  for part in "$CUDA_PACK"/part-*; do
    [ -e "$part" ] || continue
    (cd "$CUDA_PACK" && grep " $(basename "$part")\$" SHA256SUMS | sha256sum -c --quiet -) || die "$(basename "$part") is damaged"
    cp "$part" "$STAGE/cuda-parts/"
  done
  cp "$CUDA_PACK/SHA256SUMS" "$CUDA_PACK/COUNT" "$STAGE/cuda-parts/"
  local have want
  have=$(find "$STAGE/cuda-parts" -name 'part-*' | wc -l)
  want=$(cat "$STAGE/cuda-parts/COUNT")
  if [ "$have" -lt "$want" ]; then
    echo "staged $have of $want CUDA parts"
    return 0
  fi
  (cd "$STAGE/cuda-parts" && sha256sum -c --quiet SHA256SUMS) || die "a staged part is damaged"
  cat "$STAGE"/cuda-parts/part-* | xz -dc | tar -x -C "$ORT_BIN"
  ls "$ORT_BIN"/libonnxruntime_providers_cuda.so >/dev/null
  echo "CUDA provider installed beside onnxruntime-node ($want parts)"
}

case "${1:-}" in
  pack) pack ;;
  pack-cuda) pack_cuda ;;
  aside) aside ;;
  back) back ;;
  size) shift; size "$@" ;;
  unpack) unpack ;;
  stage-cuda) stage_cuda ;;
  *) sed -n '2,27p' "$0"; exit 2 ;;
esac
