package bench

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestParsePlaylist(t *testing.T) {
	base, _ := url.Parse("http://h/api/v1/cameras/c/live.m3u8")
	cases := []struct {
		name      string
		in        string
		wantMedia []string
		wantMSN   int
		wantPart  int
		parts     bool
		block     bool
		target    time.Duration
	}{
		{
			name: "ll-hls",
			in: `#EXTM3U
#EXT-X-VERSION:9
#EXT-X-TARGETDURATION:2
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.750
#EXT-X-PART-INF:PART-TARGET=0.25
#EXT-X-MEDIA-SEQUENCE:7
#EXT-X-MAP:URI="live/init.mp4"
#EXT-X-PART:DURATION=0.25,URI="live/p7.0.mp4",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.25,URI="live/p7.1.mp4"
#EXTINF:0.5,
live/s7.mp4
#EXT-X-PART:DURATION=0.25,URI="live/p8.0.mp4",INDEPENDENT=YES
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="live/p8.1.mp4"
`,
			wantMedia: []string{"p7.0.mp4", "p7.1.mp4", "p8.0.mp4"}, wantMSN: 8, wantPart: 1,
			parts: true, block: true, target: 250 * time.Millisecond,
		},
		{
			name: "plain hls with byte ranges",
			in: `#EXTM3U
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:3
#EXTINF:2.000,
s3.mp4
#EXTINF:1.5,
s4.mp4
`,
			wantMedia: []string{"s3.mp4", "s4.mp4"}, wantMSN: 5, wantPart: 0, target: 2 * time.Second,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pl, err := parsePlaylist(strings.NewReader(tc.in), base)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range pl.media {
				got = append(got, m.uri[strings.LastIndexByte(m.uri, '/')+1:])
			}
			if strings.Join(got, " ") != strings.Join(tc.wantMedia, " ") || pl.nextMSN != tc.wantMSN ||
				pl.nextPart != tc.wantPart || pl.hasParts != tc.parts || pl.canBlock != tc.block || pl.target != tc.target {
				t.Fatalf("got %v msn %d part %d parts %v block %v target %v", got, pl.nextMSN, pl.nextPart,
					pl.hasParts, pl.canBlock, pl.target)
			}
		})
	}
	if _, err := parsePlaylist(strings.NewReader("garbage"), base); err == nil {
		t.Fatal("garbage parsed")
	}
}

func TestViewerStallModel(t *testing.T) {
	v := &hlsViewer{}
	t0 := time.Now()
	// media arrives as 1 s chunks, one second apart: no stall
	v.started, v.lastTick = t0, t0
	v.buffered = time.Second
	v.tick(t0.Add(900 * time.Millisecond))
	if !v.stallAt.IsZero() {
		t.Fatal("stalled with media left")
	}
	// nothing more arrives for 3 s: stalled since t0+1s
	v.tick(t0.Add(4 * time.Second))
	if v.stallAt.IsZero() || !v.stallAt.Equal(t0.Add(time.Second)) {
		t.Fatalf("stall began at %v, want t0+1s", v.stallAt.Sub(t0))
	}
	v.finish(t0.Add(4 * time.Second))
	if v.maxStall != 3*time.Second {
		t.Fatalf("max stall %v, want 3s", v.maxStall)
	}
	if r, err := httpRange("100@50"); err != nil || r != "bytes=50-149" {
		t.Fatalf("range %q %v", r, err)
	}
	if _, err := httpRange("x@1"); err == nil {
		t.Fatal("bad byte range accepted")
	}
}
