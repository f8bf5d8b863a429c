package playback

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/record"
	"github.com/vigil-video/vigil/internal/record/recordtest"
	"github.com/vigil-video/vigil/internal/testutil"
)

type exportList struct {
	Exports []exportJSON `json:"exports"`
	Next    *string      `json:"next"`
}

func (e *env) listExports(t *testing.T, user string) exportList {
	t.Helper()
	var l exportList
	r := e.get(t, user, "/api/v1/exports").must(t, http.StatusOK)
	if err := json.Unmarshal(r.body, &l); err != nil || l.Exports == nil || l.Next == nil {
		t.Fatalf("list %s: %v", r.body, err)
	}
	return l
}

func TestExportsListShowsRunningExports(t *testing.T) {
	// Ten minutes (about 23 MB): more than the socket buffers hold, so the
	// export is still running while the client reads slowly.
	e := newEnv(t, recordtest.Options{Sessions: []time.Duration{10 * time.Minute},
		Record: record.Config{SegmentDuration: time.Minute}})
	s := e.f.Sessions[0]
	if l := e.listExports(t, "op"); len(l.Exports) != 0 {
		t.Fatalf("exports before any: %+v", l.Exports)
	}
	ctx := testutil.Context(t, 30*time.Second)
	req, err := http.NewRequestWithContext(ctx, "GET", e.srv.URL+e.exportPath(s.Start, s.End), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", basicAuth("op"))
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if _, err := io.ReadFull(res.Body, make([]byte, 64<<10)); err != nil {
		t.Fatal(err)
	}

	l := e.listExports(t, "op")
	if len(l.Exports) != 1 {
		t.Fatalf("op sees %d exports, want 1", len(l.Exports))
	}
	x := l.Exports[0]
	if x.Camera != "cam-1" || x.User != "op" || x.BytesTotal != res.ContentLength || x.BytesSent <= 0 ||
		x.BytesSent >= x.BytesTotal || x.From != fmtTime(s.Start) || x.To != fmtTime(s.End) || x.ID == "" || x.Started == "" {
		t.Fatalf("export entry %+v (content length %d)", x, res.ContentLength)
	}
	// Progress grows as the client reads (bytes_sent counts what the
	// server has written; the socket buffers hold some of it).
	if _, err := io.ReadFull(res.Body, make([]byte, 4<<20)); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		l := e.listExports(t, "op")
		if len(l.Exports) == 1 && l.Exports[0].BytesSent >= 4<<20 && l.Exports[0].BytesSent < x.BytesTotal {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("progress after reading 4 MiB: %+v", l.Exports)
		}
	}
	if l := e.listExports(t, "op2"); len(l.Exports) != 0 {
		t.Fatalf("op2 sees op's export: %+v", l.Exports)
	}
	if l := e.listExports(t, "root"); len(l.Exports) != 1 || l.Exports[0].ID != x.ID {
		t.Fatalf("admin sees %+v", l.Exports)
	}
	e.get(t, "view", "/api/v1/exports").must(t, http.StatusForbidden)

	// The entry goes when the response ends (here: the client leaves).
	res.Body.Close()
	deadline := time.Now().Add(10 * time.Second)
	for len(e.listExports(t, "op").Exports) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the export is still listed 10 s after its client left")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
