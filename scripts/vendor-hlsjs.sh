#!/bin/sh
# vendor-hlsjs.sh vendors hls.js (the LL-HLS player the viewer page uses)
# from the npm registry at a pinned version: dist/hls.min.js and its
# LICENSE go to internal/web/assets/vendor/, and VERSION records the
# version and the file's sha256 (a Go test checks the embedded file
# against it).
#
# Usage: scripts/vendor-hlsjs.sh [VERSION] (default 1.7.4)
set -eu

version=${1:-1.7.4}
root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/internal/web/assets/vendor"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "hls.js@$version" >/dev/null)
tar -xzf "$work"/hls.js-"$version".tgz -C "$work"
mkdir -p "$dest"
cp "$work/package/dist/hls.min.js" "$dest/hls.min.js"
cp "$work/package/LICENSE" "$dest/LICENSE"
sum=$(sha256sum "$dest/hls.min.js" | cut -d' ' -f1)
printf 'hls.js %s\nsha256 %s\nsource npm pack hls.js@%s (dist/hls.min.js)\n' "$version" "$sum" "$version" >"$dest/VERSION"
echo "vendored hls.js $version: $sum"
