#!/usr/bin/env bash
# Opt-in: installs ONNX Runtime's CUDA execution provider for onnxruntime-node.
# Needs an NVIDIA GPU with its driver, and internet access to the ONNX Runtime
# release downloads (not only the npm registry).
#   CUDA 12:  bash scripts/setup-cuda.sh            (onnxruntime-node's own installer)
#   CUDA 13:  bash scripts/setup-cuda.sh --cuda13   (provider libraries of the same ORT
#             version from the npm package com.github.asus4.onnxruntime.linux-x64-gpu)
set -euo pipefail
cd "$(dirname "$0")/.."
ORT_VERSION=$(node -p "require('onnxruntime-node/package.json').version")
BIN="node_modules/onnxruntime-node/bin/napi-v6/linux/x64"
if [ "${1:-}" = "--cuda13" ]; then
  # 0.4.9 carries ONNX Runtime 1.29 built for CUDA 13; it must match onnxruntime-node.
  pkg="com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9"
  [ "$ORT_VERSION" = "1.29.0" ] || { echo "error: $pkg pairs with onnxruntime-node 1.29.0, found $ORT_VERSION" >&2; exit 1; }
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "$pkg" >/dev/null && tar xzf ./*.tgz)
  find "$tmp/package" -name 'libonnxruntime_providers_*.so' -exec cp -v {} "$BIN/" \;
else
  (cd node_modules/onnxruntime-node && ONNXRUNTIME_NODE_INSTALL=cuda12 node ./script/install)
fi
ls "$BIN"/libonnxruntime_providers_cuda.so >/dev/null || { echo "error: CUDA provider not installed" >&2; exit 1; }
node dist/cli/main.js models >/dev/null 2>&1 || true
echo "CUDA provider installed next to onnxruntime-node $ORT_VERSION; try: node dist/cli/main.js stylize IN -o OUT --device cuda"
