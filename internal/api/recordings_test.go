package api

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/index"
)

func TestRecordingsAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.addCamera(t, "gate-1", "north", "")
	base := testNow().Add(-time.Hour)
	for i, s := range [][2]time.Duration{{0, 10 * time.Minute}, {10 * time.Minute, 20 * time.Minute}, {30 * time.Minute, 40 * time.Minute}} {
		_, err := e.idx.AddSegment(ctx, index.Segment{Camera: "gate-1", Start: base.Add(s[0]), End: base.Add(s[1]),
			Path: fmt.Sprintf("gate-1/%d.mp4", i), State: index.SegmentClosed})
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.idx.AddGap(ctx, index.Gap{Camera: "gate-1", Start: base.Add(20 * time.Minute), End: base.Add(30 * time.Minute),
		State: index.GapPending, Reason: "reconnect"}); err != nil {
		t.Fatal(err)
	}
	q := url.Values{"from": {base.Format(time.RFC3339)}, "to": {base.Add(50 * time.Minute).Format(time.RFC3339)}}
	r := e.do(t, "GET", "/api/v1/cameras/gate-1/recordings?"+q.Encode(), nil, asOp()).must(t, 200)
	want := `{"from":"2025-06-01T11:00:00Z","to":"2025-06-01T11:50:00Z",` +
		`"spans":[{"start":"2025-06-01T11:00:00Z","end":"2025-06-01T11:20:00Z"},{"start":"2025-06-01T11:30:00Z","end":"2025-06-01T11:40:00Z"}],` +
		`"gaps":[{"start":"2025-06-01T11:20:00Z","end":"2025-06-01T11:30:00Z","state":"pending","reason":"reconnect"},` +
		`{"start":"2025-06-01T11:40:00Z","end":"2025-06-01T11:50:00Z","state":"lost"}]}` + "\n"
	if string(r.body) != want {
		t.Fatalf("recordings =\n%s\nwant\n%s", r.body, want)
	}
	// Default window: the last 24 h up to now.
	r = e.do(t, "GET", "/api/v1/cameras/gate-1/recordings", nil, asOp()).must(t, 200)
	var rec recordingsJSON
	r.json(t, &rec)
	if rec.From != "2025-05-31T12:00:00Z" || rec.To != "2025-06-01T12:00:00Z" || len(rec.Spans) != 2 || len(rec.Gaps) != 3 {
		t.Fatalf("default window = %s", r.body)
	}
	// Fractional seconds and offsets are accepted; answers are UTC.
	r = e.do(t, "GET", "/api/v1/cameras/gate-1/recordings?from=2025-06-01T13:05:00.5%2B02:00&to=2025-06-01T11:06:00Z", nil, asRoot()).must(t, 200)
	r.json(t, &rec)
	if rec.From != "2025-06-01T11:05:00.5Z" || len(rec.Spans) != 1 || rec.Spans[0].Start != "2025-06-01T11:05:00.5Z" {
		t.Fatalf("fractional = %s", r.body)
	}
	// Nothing recorded: one lost gap and empty (not null) spans.
	e.addCamera(t, "empty", "north", "")
	r = e.do(t, "GET", "/api/v1/cameras/empty/recordings", nil, asOp()).must(t, 200)
	if want := `"spans":[],"gaps":[{"start":"2025-05-31T12:00:00Z","end":"2025-06-01T12:00:00Z","state":"lost"}]}`; string(r.body[len(r.body)-len(want)-1:len(r.body)-1]) != want {
		t.Fatalf("empty = %s", r.body)
	}
}

func TestRecordingsAPIErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.addCamera(t, "gate-1", "north", "")
	e.addCamera(t, "s1", "south", "")
	tests := []struct {
		name, path string
		c          cred
		want       int
	}{
		{"viewer", "/api/v1/cameras/gate-1/recordings", asView(), 403},
		{"auditor", "/api/v1/cameras/gate-1/recordings", asAud(), 403},
		{"no auth", "/api/v1/cameras/gate-1/recordings", noCred, 401},
		{"out of scope", "/api/v1/cameras/s1/recordings", asOp(), 404},
		{"missing camera", "/api/v1/cameras/ghost/recordings", asOp(), 404},
		{"bad id", "/api/v1/cameras/..%2Fx/recordings", asOp(), 400},
		{"malformed from", "/api/v1/cameras/gate-1/recordings?from=yesterday", asOp(), 400},
		{"malformed to", "/api/v1/cameras/gate-1/recordings?to=2025-13-01T00:00:00Z", asOp(), 400},
		{"no zone", "/api/v1/cameras/gate-1/recordings?from=2025-06-01T00:00:00", asOp(), 400},
		{"unix seconds", "/api/v1/cameras/gate-1/recordings?from=1717243200", asOp(), 400},
		{"from equals to", "/api/v1/cameras/gate-1/recordings?from=2025-06-01T00:00:00Z&to=2025-06-01T00:00:00Z", asOp(), 400},
		{"from after to", "/api/v1/cameras/gate-1/recordings?from=2025-06-02T00:00:00Z&to=2025-06-01T00:00:00Z", asOp(), 400},
		{"from in the future", "/api/v1/cameras/gate-1/recordings?from=2025-06-02T00:00:00Z", asOp(), 400},
		{"too long", "/api/v1/cameras/gate-1/recordings?from=2025-01-01T00:00:00Z&to=2025-06-01T00:00:00Z", asOp(), 400},
		{"before 1970", "/api/v1/cameras/gate-1/recordings?from=0001-01-01T00:00:00Z", asOp(), 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.do(t, "GET", tt.path, nil, tt.c).must(t, tt.want).errCode(t)
		})
	}
}
