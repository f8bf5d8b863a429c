package snapshot

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/api"
	"github.com/vigil-video/vigil/internal/index"

	"github.com/vigil-video/vigil/internal/record"
	"github.com/vigil-video/vigil/internal/record/recordtest"
	"github.com/vigil-video/vigil/internal/testutil"
)

// recorded is 30 s and 20 s of the clip with a 10 s gap between, in 10 s
// segments of 1 s fragments.
func recorded(t *testing.T) (*recordtest.Fixture, *Service) {
	t.Helper()
	testutil.RequireTool(t, "ffmpeg")
	f := recordtest.Record(t, recordtest.Options{Sessions: []time.Duration{30 * time.Second, 20 * time.Second},
		Record: record.Config{SegmentDuration: 10 * time.Second}})
	return f, New(Config{}, Deps{Index: f.Index, Blobs: f.Blobs})
}

func atQuery(at time.Time, extra string) string {
	return "at=" + url.QueryEscape(at.Format(time.RFC3339Nano)) + extra
}

// A snapshot at a time is the frame shown then: the last frame at or
// before it, from the right segment and fragment, whatever the GOP.
func TestSnapshotAt(t *testing.T) {
	f, s := recorded(t)
	s0, s1 := f.Sessions[0].Start, f.Sessions[1].Start
	frame := 100 * time.Millisecond // the clip runs at 10 fps
	cases := []struct {
		name string
		at   time.Time
		want int // the clip's frame (it loops every 200 frames)
	}{
		{"first frame", s0, 0},
		{"on a keyframe", s0.Add(41 * frame), 41},
		{"mid GOP, between frames", s0.Add(123*frame + 50*time.Millisecond), 123},
		{"just before the next frame", s0.Add(58*frame - time.Millisecond), 57},
		{"second segment, after the clip looped", s0.Add(217 * frame), 17},
		{"last frame of the session", f.Sessions[0].End.Add(-time.Millisecond), (f.Frames[0] - 1) % 200},
		{"second session", s1.Add(75 * frame), 75},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			img := wantJPEG(t, get(t, s, admin, f.Camera, atQuery(tc.at, "")))
			if b := img.Bounds(); b.Dx() != f.Width || b.Dy() != f.Height {
				t.Fatalf("picture %v, want %dx%d", b, f.Width, f.Height)
			}
			if sd := stddev(luma(t, img)); sd < 10 {
				t.Errorf("brightness spread %.1f: the picture is uniform", sd)
			}
			// The wanted frame must be closer than its neighbours.
			same := diff(t, img, clipFrame(t, tc.want))
			for _, other := range []int{tc.want - 1, tc.want + 1} {
				if other < 0 || other >= 200 {
					continue
				}
				if d := diff(t, img, clipFrame(t, other)); same >= d {
					t.Errorf("closer to frame %d (%.2f) than to frame %d (%.2f)", other, d, tc.want, same)
				}
			}
			if same > 3 {
				t.Errorf("mean difference %.2f to frame %d", same, tc.want)
			}
		})
	}
}

// Two times give two different pictures; ?width= scales.
// A snapshot at a time is the same picture every time, and answers HTTP
// Range requests like every media response.
func TestSnapshotAtRange(t *testing.T) {
	f, s := recorded(t)
	q := atQuery(f.Sessions[0].Start.Add(3*time.Second), "")
	full := get(t, s, admin, f.Camera, q)
	if full.Code != http.StatusOK || full.Body.Len() < 100 {
		t.Fatalf("full: %d, %d bytes", full.Code, full.Body.Len())
	}
	r := httptest.NewRequestWithContext(testutil.Context(t, 30e9), "GET", "/api/v1/cameras/"+f.Camera+"/snapshot.jpg?"+q, nil)
	r.Header.Set("Range", "bytes=10-49")
	w := httptest.NewRecorder()
	s.serveSnapshot(w, r, api.Request{Principal: admin, Camera: index.Camera{ID: f.Camera}})
	if w.Code != http.StatusPartialContent || !bytes.Equal(w.Body.Bytes(), full.Body.Bytes()[10:50]) {
		t.Fatalf("range: %d, %d bytes, equal to the full answer's: %v", w.Code, w.Body.Len(),
			bytes.Equal(w.Body.Bytes(), full.Body.Bytes()[10:50]))
	}
}

func TestSnapshotAtDiffers(t *testing.T) {
	f, s := recorded(t)
	start := time.Now()
	a := wantJPEG(t, get(t, s, admin, f.Camera, atQuery(f.Sessions[0].Start.Add(3*time.Second), "")))
	t.Logf("snapshot at a time (1 s into a 2 s GOP, 768x576) in %v", time.Since(start).Round(time.Millisecond))
	b := wantJPEG(t, get(t, s, admin, f.Camera, atQuery(f.Sessions[0].Start.Add(14*time.Second), "")))
	if d := diff(t, a, b); d < 3 {
		t.Errorf("pictures 11 s apart differ by %.2f on average", d)
	}
	small := wantJPEG(t, get(t, s, admin, f.Camera, atQuery(f.Sessions[0].Start.Add(3*time.Second), "&width=384")))
	if bb := small.Bounds(); bb.Dx() != 384 || bb.Dy() != 288 {
		t.Errorf("scaled picture %v, want 384x288", bb)
	}
}

// Bad requests: no footage 404, malformed query 400, no playback 403.
func TestSnapshotAtErrors(t *testing.T) {
	f, s := recorded(t)
	gap := f.Sessions[0].End.Add(5 * time.Second)
	cases := []struct {
		name   string
		p      string
		query  string
		status int
	}{
		{"in the gap", "admin", atQuery(gap, ""), http.StatusNotFound},
		{"before everything", "admin", atQuery(f.Sessions[0].Start.Add(-time.Hour), ""), http.StatusNotFound},
		{"at the end", "admin", atQuery(f.Sessions[1].End.Add(time.Second), ""), http.StatusNotFound},
		{"malformed at", "admin", "at=yesterday", http.StatusBadRequest},
		{"at without zone", "admin", "at=2026-01-02T03:04:05", http.StatusBadRequest},
		{"width too small", "admin", atQuery(f.Sessions[0].Start, "&width=8"), http.StatusBadRequest},
		{"width not a number", "admin", "width=big", http.StatusBadRequest},
		{"viewer may not play back", "viewer", atQuery(f.Sessions[0].Start, ""), http.StatusForbidden},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := admin
			if tc.p == "viewer" {
				p = viewer
			}
			wantError(t, get(t, s, p, f.Camera, tc.query), tc.status)
		})
	}
}
