package playback

import (
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/record"
	"github.com/vigil-video/vigil/internal/record/recordtest"
)

// twoSessions records 25 s and 12 s with a 10 s gap, in segments of about
// 10 s (keyframes every 2 s, fragments of 1 s).
func twoSessions(t testing.TB) *env {
	return newEnv(t, recordtest.Options{
		Sessions: []time.Duration{25 * time.Second, 12 * time.Second},
		Record:   record.Config{SegmentDuration: 10 * time.Second},
	})
}

func TestPlaylistAcrossSegmentsAndGapPlaysInFFmpeg(t *testing.T) {
	e := twoSessions(t)
	s0, s1 := e.f.Sessions[0], e.f.Sessions[1]
	path := e.playlistPath(s0.Start, s1.End)
	r := e.get(t, "op", path).must(t, http.StatusOK)
	if ct := r.header.Get("Content-Type"); ct != "application/vnd.apple.mpegurl" {
		t.Fatalf("content type %q", ct)
	}
	tags, entries := parsePlaylist(t, r.body)
	for _, tag := range []string{"#EXTM3U", "#EXT-X-ENDLIST"} {
		if _, ok := tags[tag]; !ok {
			t.Fatalf("no %s in\n%s", tag, r.body)
		}
	}
	if tags["#EXT-X-VERSION"] != "7" || tags["#EXT-X-PLAYLIST-TYPE"] != "VOD" || tags["#EXT-X-TARGETDURATION"] != "1" {
		t.Fatalf("header tags %v", tags)
	}
	if _, ok := tags["#EXT-X-INDEPENDENT-SEGMENTS"]; ok {
		t.Fatal("EXT-X-INDEPENDENT-SEGMENTS with fragments that start between keyframes")
	}

	// One run per file with a program date time; one discontinuity, at the
	// gap (the files of one session share a timeline through t0).
	files, discs := map[string]bool{}, 0
	var total float64
	for i, en := range entries {
		if !strings.HasPrefix(en.uri, "segments/") || en.mapURI != en.uri || !strings.HasSuffix(en.mapRange, "@0") {
			t.Fatalf("entry %d: uri %q map %q %q", i, en.uri, en.mapURI, en.mapRange)
		}
		newFile := !files[en.uri]
		files[en.uri] = true
		afterGap := newFile && en.date.Equal(s1.Start)
		if newFile != !en.date.IsZero() || afterGap != en.discontinuity {
			t.Fatalf("entry %d (new file %v): date %v, discontinuity %v", i, newFile, en.date, en.discontinuity)
		}
		if !strings.Contains(en.uri, ".mp4?t0=2026-01-02T03:04:00Z") {
			t.Fatalf("entry %d: uri %q without the playlist's t0", i, en.uri)
		}
		if en.discontinuity {
			discs++
		}
		total += en.dur
	}
	if len(files) < 4 || discs != 1 {
		t.Fatalf("%d files, %d discontinuities", len(files), discs)
	}
	if !entries[0].date.Equal(s0.Start) {
		t.Fatalf("first program date time %v, want %v", entries[0].date, s0.Start)
	}
	want := s0.End.Sub(s0.Start) + s1.End.Sub(s1.Start)
	if math.Abs(total-want.Seconds()) > 0.001 {
		t.Fatalf("EXTINF sum %.3f s, recorded %.3f s", total, want.Seconds())
	}
	var gapAt time.Time
	for _, en := range entries {
		if !en.date.IsZero() && !en.date.Before(s1.Start) {
			gapAt = en.date
			break
		}
	}
	if !gapAt.Equal(s1.Start) {
		t.Fatalf("after the gap the program date time is %v, want %v", gapAt, s1.Start)
	}

	u := e.srv.URL + path
	if msg := decodeErrors(t, "op", u); msg != "" {
		t.Fatalf("ffmpeg decoding the playlist: %s", msg)
	}
	times := probeFrames(t, "op", u)
	if got, want := len(times), e.f.Frames[0]+e.f.Frames[1]; got != want {
		t.Fatalf("ffprobe decoded %d frames, recorded %d", got, want)
	}
	// Frame times follow wall time from the first frame: steady 0.1 s
	// steps across segment files, the 10 s pause at the gap.
	for i := 1; i < len(times); i++ {
		step := times[i] - times[i-1]
		wantStep := 0.1
		if i == e.f.Frames[0] {
			wantStep = s1.Start.Sub(s0.End).Seconds() + 0.1
		}
		if math.Abs(step-wantStep) > 0.002 {
			t.Fatalf("frame %d at %.3f s, %.3f s after the previous; want a step of %.3f s", i, times[i], step, wantStep)
		}
	}
}

func TestPlaylistSeekStartsOnKeyframe(t *testing.T) {
	e := twoSessions(t)
	start := e.f.Sessions[0].Start
	tests := []struct {
		name          string
		from, to      time.Duration // from the first session's start
		first, endsAt time.Duration // expected first fragment start, last fragment end
	}{
		{"mid non-key fragment", 3500 * time.Millisecond, 8500 * time.Millisecond, 2 * time.Second, 9 * time.Second},
		{"on a keyframe", 4 * time.Second, 6 * time.Second, 4 * time.Second, 6 * time.Second},
		{"across a segment cut", 9500 * time.Millisecond, 12300 * time.Millisecond, 8 * time.Second, 13 * time.Second},
		{"from in the gap", 30 * time.Second, 37 * time.Second, 35 * time.Second, 37 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := e.playlistPath(start.Add(tt.from), start.Add(tt.to))
			_, entries := parsePlaylist(t, e.get(t, "op", path).must(t, http.StatusOK).body)
			if want := start.Add(tt.first); !entries[0].date.Equal(want) {
				t.Fatalf("starts at %v, want %v", entries[0].date.Sub(start), tt.first)
			}
			var sum float64
			for _, en := range entries {
				sum += en.dur
			}
			if got := time.Duration(sum * float64(time.Second)); (tt.endsAt - tt.first - got).Abs() > time.Millisecond {
				t.Fatalf("covers %v, want %v", got, tt.endsAt-tt.first)
			}
			frames := probeFrames(t, "op", e.srv.URL+path)
			if want := framesIn(e.f, start.Add(tt.first), start.Add(tt.endsAt)); len(frames) != want {
				t.Fatalf("decoded %d frames, want %d", len(frames), want)
			}
		})
	}
}
