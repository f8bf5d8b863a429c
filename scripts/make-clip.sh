#!/bin/sh
# make-clip.sh reproduces assets/clip/clip.mp4, the clip that the camera
# simulator loops and that tests use as real footage.
#
# Source: vtest.avi from Debian's opencv-doc package (a fixed street camera
# with people walking, 768x576, 10 fps). Output: the first 20 s as H.264
# main profile without B-frames, 10 fps, a keyframe every 2 s (20 frames),
# about 300 kbit/s, no audio, moov first (faststart).
#
# Usage: scripts/make-clip.sh [OUT] (default assets/clip/clip.mp4)
set -eu

out=${1:-assets/clip/clip.mp4}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$work" && apt-get download opencv-doc >/dev/null && dpkg-deb -x opencv-doc_*.deb x)
src="$work/x/usr/share/doc/opencv-doc/examples/data/vtest.avi"

ffmpeg -nostdin -v error -y -i "$src" -t 20 -an \
	-vf "fps=10,format=yuv420p" \
	-c:v libx264 -profile:v main -preset slow -bf 0 \
	-x264-params "keyint=20:min-keyint=20:scenecut=0" \
	-b:v 300k -maxrate 400k -bufsize 600k \
	-movflags +faststart -map_metadata -1 -fflags +bitexact -flags:v +bitexact \
	"$out"

ffprobe -v error -count_frames -select_streams v:0 \
	-show_entries stream=codec_name,profile,width,height,r_frame_rate,nb_read_frames \
	-of default=nw=1 "$out"
ls -l "$out"
