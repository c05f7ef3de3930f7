#!/usr/bin/env bash
# The bundled sample clip, made by ffmpeg itself (no downloads): 4 s of an
# animated Mandelbrot zoom over a moving colour gradient, 320x180 @ 30 fps, with a tone.
set -euo pipefail
cd "$(dirname "$0")/.."
out=samples/sample.mp4
[ -s "$out" ] && exit 0
mkdir -p samples
tmp="samples/.sample.$$.mp4"
trap 'rm -f "$tmp"' EXIT
ffmpeg -nostdin -v error -y \
  -f lavfi -i "mandelbrot=size=320x180:rate=30:start_scale=2.5:end_scale=0.6:end_pts=200" \
  -f lavfi -i "gradients=size=320x180:rate=30:speed=0.03" \
  -f lavfi -i "sine=frequency=330:sample_rate=48000" \
  -filter_complex "[0:v][1:v]blend=all_mode=softlight,format=yuv420p[v]" -map "[v]" -map 2:a \
  -t 4 -c:v libx264 -preset veryfast -crf 18 -c:a aac -b:a 96k -movflags +faststart "$tmp"
mv "$tmp" "$out"
echo "setup: made $out"
