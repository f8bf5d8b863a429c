package hls

import (
	"testing"

	"github.com/vigil-video/vigil/internal/media"
)

// TestPlaylistGolden checks a whole playlist: the first segment cut out of
// a two-frame GOP, the catch-up segment up to the next keyframe, the window
// of cfg.Segments complete segments, parts, the open segment and the hint.
func TestPlaylistGolden(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Segments = 2
	h := newHarness(t, cfg)
	tr := videoTrack(20, 15)
	p := h.ts.stream("cam").Publish([]media.Track{tr})
	g := newGen(tr, 10, 10)
	g.writeN(t, p, 2)
	first := h.mustGet(t, "cam", "live.m3u8", 200) // starts the muxer: segment 0 is the two frames
	if want := "#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-MAP:URI=\"live/init-1.mp4\"\n" +
		"#EXT-X-PROGRAM-DATE-TIME:2026-01-02T03:04:05.000Z\n" +
		"#EXT-X-PART:DURATION=0.200,URI=\"live/p0.0.mp4\",INDEPENDENT=YES\n#EXTINF:0.200,\nlive/s0.mp4\n" +
		"#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"live/p1.0.mp4\"\n"; !hasSuffix(first, want) {
		t.Errorf("first playlist:\n%s\nwant it to end with:\n%s", first, want)
	}
	g.writeN(t, p, 8+10*4+3)
	got := h.mustGet(t, "cam", "live.m3u8", 200)
	want := `#EXTM3U
#EXT-X-VERSION:9
#EXT-X-TARGETDURATION:1
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.600
#EXT-X-PART-INF:PART-TARGET=0.200
#EXT-X-MEDIA-SEQUENCE:4
#EXT-X-MAP:URI="live/init-1.mp4"
#EXT-X-PROGRAM-DATE-TIME:2026-01-02T03:04:08.000Z
#EXT-X-PART:DURATION=0.200,URI="live/p4.0.mp4",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.200,URI="live/p4.1.mp4"
#EXT-X-PART:DURATION=0.200,URI="live/p4.2.mp4"
#EXT-X-PART:DURATION=0.200,URI="live/p4.3.mp4"
#EXT-X-PART:DURATION=0.200,URI="live/p4.4.mp4"
#EXTINF:1.000,
live/s4.mp4
#EXT-X-PROGRAM-DATE-TIME:2026-01-02T03:04:09.000Z
#EXT-X-PART:DURATION=0.200,URI="live/p5.0.mp4",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.200,URI="live/p5.1.mp4"
#EXT-X-PART:DURATION=0.200,URI="live/p5.2.mp4"
#EXT-X-PART:DURATION=0.200,URI="live/p5.3.mp4"
#EXT-X-PART:DURATION=0.200,URI="live/p5.4.mp4"
#EXTINF:1.000,
live/s5.mp4
#EXT-X-PROGRAM-DATE-TIME:2026-01-02T03:04:10.000Z
#EXT-X-PART:DURATION=0.200,URI="live/p6.0.mp4",INDEPENDENT=YES
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="live/p6.1.mp4"
`
	if got != want {
		t.Errorf("playlist:\n%s\nwant:\n%s", got, want)
	}
	// Segment 1 (frames 2-9) ended at the first keyframe, not the target
	// (segment 4 starts at 3 s); two segments past the window stay
	// fetchable, older ones expire.
	h.mustGet(t, "cam", "live/s1.mp4", 404)
	h.mustGet(t, "cam", "live/s2.mp4", 200)
	if s := h.mustGet(t, "cam", "live/p2.4.mp4", 200); len(s) == 0 {
		t.Error("empty part")
	}
	h.mustGet(t, "cam", "live/p2.5.mp4", 404)
}

func hasSuffix(s, suffix string) bool {
	return len(s) >= len(suffix) && s[len(s)-len(suffix):] == suffix
}
