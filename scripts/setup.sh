#!/usr/bin/env bash
# Installs what stylecast needs on Debian/Ubuntu (only what is missing), the npm
# packages, builds the TypeScript, and makes the sample clip. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(ffmpeg chromium python3 python3-torch python3-torchvision python3-pytest python3-numpy python3-pil python3-opencv python3-onnx python3-jsonschema python3-flatbuffers flatbuffers-compiler obs-studio xvfb xauth janus)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# onnxruntime-node's postinstall would download CUDA libraries from outside the npm
# registry; its own switch skips that (an .npmrc key for it makes npm warn on every run).
export ONNXRUNTIME_NODE_INSTALL=skip
if [ ! -d node_modules/onnxruntime-node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # `npm install`, not `npm ci`: npm 11 writes lock files without the other
  # platforms' optional packages (rollup's), which `npm ci` then rejects.
  echo "setup: npm install"
  npm install --no-audit --no-fund --loglevel=error
fi
npm run --silent build
bash scripts/make-sample.sh
echo "setup: done (node $(node -v), $(ffmpeg -version | head -1 | cut -d' ' -f1-3), torch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)'))"
