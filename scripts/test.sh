#!/usr/bin/env bash
# Runs the whole test suite, installing the real peers it needs first
# (ffmpeg/ffprobe, GStreamer's RTSP server through python3-gi, Debian's
# Chromium, Node.js and playwright-core for the browser test).
set -euo pipefail
cd "$(dirname "$0")/.."

need_install=0
command -v ffmpeg >/dev/null 2>&1 || need_install=1
command -v ffprobe >/dev/null 2>&1 || need_install=1
/usr/bin/python3 -c 'import gi; gi.require_version("GstRtspServer", "1.0"); from gi.repository import GstRtspServer' >/dev/null 2>&1 || need_install=1
[ -x /usr/bin/chromium ] || need_install=1
command -v npm >/dev/null 2>&1 || need_install=1
if [ "$need_install" = 1 ]; then
  echo "installing test peers (ffmpeg, gstreamer, chromium)..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends \
    ffmpeg gstreamer1.0-rtsp gstreamer1.0-plugins-base gstreamer1.0-plugins-good \
    gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-tools \
    python3-gi gir1.2-gst-rtsp-server-1.0 gir1.2-gstreamer-1.0 chromium >/dev/null
  command -v npm >/dev/null 2>&1 || apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
# playwright-core, pinned in test/browser/package-lock.json (it drives the
# system Chromium; it downloads no browser).
(cd test/browser && npm ci --no-audit --no-fund --loglevel=error)

# Tests that need a real peer fail (instead of skipping) when it is missing.
export VIGIL_REQUIRE_PEERS=1
go vet ./...
go build -o bin/vigil ./cmd/vigil
# -count=1: the end-to-end tests build the binary themselves, so the test
# cache cannot see that the code under test changed.
go test -race -count=1 -timeout 20m ./...
