// Package clip embeds Vigil's sample footage: 20 s of a fixed street camera
// with people walking (vtest.avi from OpenCV's samples), H.264 main profile
// without B-frames, 768x576, 10 fps, a keyframe every 2 s, in an MP4 file
// with the moov box first. scripts/make-clip.sh reproduces it.
//
// The camera simulator loops it, and tests use it as real footage.
package clip

import _ "embed"

//go:embed clip.mp4
var mp4 []byte

// MP4 returns the clip's MP4 bytes. The slice is shared: do not modify it.
func MP4() []byte { return mp4 }
