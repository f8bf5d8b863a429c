package record

import (
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/media"
	"github.com/vigil-video/vigil/internal/sim"
	"github.com/vigil-video/vigil/internal/stream"
)

// The embedded street clip: H.264 768x576, 10 fps, a keyframe every 20
// frames, no B-frames, 200 frames per loop.
func loadClip(t testing.TB) *sim.Clip {
	t.Helper()
	clip, err := sim.DefaultClip()
	if err != nil {
		t.Fatal(err)
	}
	return clip
}

func clipTracks(clip *sim.Clip) []media.Track {
	return []media.Track{{ID: 0, Codec: media.CodecH264, ClockRate: 90000,
		SPS: clip.SPS, PPS: clip.PPS, Width: clip.Width, Height: clip.Height}}
}

// clipFrame returns frame i of the looping clip: its DTS, PTS (90 kHz,
// continuing across loops), key flag and NAL units (parameter sets before
// a keyframe, as depacket delivers them).
func clipFrame(clip *sim.Clip, i int) (dts, pts int64, key bool, nalus [][]byte) {
	loop, k := i/len(clip.Frames), i%len(clip.Frames)
	fr := clip.Frames[k]
	base := int64(loop) * clip.Duration
	nalus = fr.NALUs
	if fr.Key {
		nalus = append([][]byte{clip.SPS, clip.PPS}, fr.NALUs...)
	}
	return base + fr.DTS, base + fr.PTS, fr.Key, nalus
}

// clipWall is the wall time of frame i when frame 0 was shown at start.
func clipWall(clip *sim.Clip, start time.Time, i int) time.Time {
	_, pts, _, _ := clipFrame(clip, i)
	return start.Add(time.Duration(pts) * time.Second / 90000)
}

// writeClip writes frames [from, from+n) of the clip to rd; their wall
// times count from start and dtsShift is added to their DTS and PTS (a
// camera clock jump).
func writeClip(rd stream.Reader, clip *sim.Clip, start time.Time, from, n int, dtsShift int64) {
	for i := from; i < from+n; i++ {
		dts, pts, key, nalus := clipFrame(clip, i)
		rd.Write(&media.AccessUnit{Track: 0, DTS: dts + dtsShift, PTS: pts + dtsShift,
			Wall: clipWall(clip, start, i), Key: key, NALUs: nalus})
	}
}

// teeReader hands every call to all its readers.
type teeReader []stream.Reader

func (t teeReader) Begin(tr []media.Track) {
	for _, r := range t {
		r.Begin(tr)
	}
}

func (t teeReader) Write(au *media.AccessUnit) {
	for _, r := range t {
		r.Write(au)
	}
}

func (t teeReader) End() {
	for _, r := range t {
		r.End()
	}
}
