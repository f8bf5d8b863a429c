package gateways

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/blob/fs"
	"github.com/vigil-video/vigil/internal/index"
	"github.com/vigil-video/vigil/internal/record"
	"github.com/vigil-video/vigil/internal/record/recordtest"
	"github.com/vigil-video/vigil/internal/segment"
	"github.com/vigil-video/vigil/internal/testutil"
	"github.com/vigil-video/vigil/internal/uplink"
)

// recordImporter adapts record.Importer to Importer (as the app does).
type recordImporter struct{ im *record.Importer }

func (r recordImporter) Import(ctx context.Context, f uplink.Fragment) (bool, error) {
	return r.im.Import(ctx, record.Imported{Seq: f.Seq, Init: f.Init, Data: f.Data,
		Start: f.Start, Duration: f.Duration, Key: f.Key})
}
func (r recordImporter) Flush(ctx context.Context) (uint64, error) { return r.im.Flush(ctx) }
func (r recordImporter) Close()                                    { r.im.Close() }

// recordedFragments cuts a real recording (the embedded clip through the
// hub's recorder) back into the fragments a gateway spool holds, seqs
// from 1.
func recordedFragments(t *testing.T, fx *recordtest.Fixture) []uplink.Fragment {
	t.Helper()
	ctx := testutil.Context(t, 10*time.Second)
	segs, err := fx.Index.Segments(ctx, fx.Camera, fx.Sessions[0].Start.Add(-time.Hour), fx.Sessions[0].End.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var out []uplink.Fragment
	for _, s := range segs {
		p, err := fx.Blobs.Path(s.Path)
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		// A gateway's fragments are one moof+mdat each: without the
		// padding the hub's recorder adds.
		init := segment.TrimPadding(data[:s.InitSize])
		for i, f := range s.Fragments {
			end, endT := s.Bytes, s.End
			if i+1 < len(s.Fragments) {
				end, endT = s.Fragments[i+1].Offset, s.Start.Add(s.Fragments[i+1].Start)
			}
			start := s.Start.Add(f.Start)
			out = append(out, uplink.Fragment{Seq: uint64(len(out) + 1), Init: init, Data: segment.TrimPadding(data[f.Offset:end]),
				Start: start, Duration: endT.Sub(start), Key: f.Key})
		}
	}
	return out
}

// TestUplinkRealImporter: fragments of a real recording uploaded (half,
// then all again) through the real record.Writer importer and the real
// SQLite index are stored once each: the hub's files hold every frame
// (ffprobe), the progress is the last seq, and the pending gap set from a
// status report lives in the index until the backlog is empty.
func TestUplinkRealImporter(t *testing.T) {
	testutil.RequireTool(t, "ffprobe")
	fx := recordtest.Record(t, recordtest.Options{Sessions: []time.Duration{12 * time.Second}})
	fs0 := recordedFragments(t, fx)
	if len(fs0) < 10 {
		t.Fatalf("only %d fragments recorded", len(fs0))
	}
	var blobs *fs.Store
	e := newUpEnvWith(t, Config{}, func(e *upEnv, d *UplinkDeps) {
		var err error
		blobs, err = fs.New(filepath.Join(t.TempDir(), "recordings"))
		if err != nil {
			t.Fatal(err)
		}
		log := slog.New(slog.DiscardHandler)
		w := record.NewWriter(record.Config{}, e.idx, blobs, log)
		ready := make(chan struct{})
		close(ready)
		testutil.Serve(t, context.Background(), w.Run, ready)
		d.Index = e.idx // the real LastImported and SetPendingGap
		d.NewImporter = func(camera, origin string) Importer {
			return recordImporter{w.NewImporter(camera, origin, e.idx, log)}
		}
		d.IsBadFragment = func(err error) bool { return errors.Is(err, record.ErrBadFragment) }
	})
	ctx := testutil.Context(t, 30*time.Second)
	last := fs0[len(fs0)-1]
	lastEnd := last.Start.Add(last.Duration)

	// the gateway reports its backlog: a pending gap over all of it
	e.report(t, uplink.Status{Cameras: []uplink.CameraStatus{{ID: "cam-n1",
		Backlog: uplink.Backlog{Fragments: len(fs0), Start: fs0[0].Start, End: lastEnd}}}})
	pending := func() []index.Gap {
		gs, err := e.idx.Gaps(ctx, "cam-n1", fs0[0].Start.Add(-time.Hour), lastEnd.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return slices.DeleteFunc(gs, func(g index.Gap) bool { return g.State != index.GapPending })
	}
	if gs := pending(); len(gs) != 1 || !gs[0].Start.Equal(fs0[0].Start) || !gs[0].End.Equal(lastEnd) {
		t.Fatalf("pending gaps %+v", gs)
	}

	half := len(fs0) / 2
	for _, part := range [][]uplink.Fragment{fs0[:half], fs0} {
		a := e.upload(t, "cam-n1", encodeFrags(t, part))
		if p := progressOf(t, a); a.code != http.StatusOK || p.LastSeq != part[len(part)-1].Seq {
			t.Fatalf("upload of %d: %d %s", len(part), a.code, a.body)
		}
		if part[len(part)-1].Seq == uint64(half) {
			// the next report shrinks the gap to what the hub lacks
			e.report(t, uplink.Status{Cameras: []uplink.CameraStatus{{ID: "cam-n1",
				Backlog: uplink.Backlog{Fragments: len(fs0), Start: fs0[0].Start, End: lastEnd}}}})
			want := fs0[half-1].Start.Add(fs0[half-1].Duration)
			if gs := pending(); len(gs) != 1 || gs[0].Start.Sub(want).Abs() > time.Millisecond {
				t.Fatalf("pending gaps after half %+v, want from %v", gs, want)
			}
		}
	}
	e.report(t, uplink.Status{Cameras: []uplink.CameraStatus{{ID: "cam-n1"}}})
	if gs := pending(); len(gs) != 0 {
		t.Fatalf("pending gap left after the backlog emptied: %+v", gs)
	}

	segs, err := e.idx.Segments(ctx, "cam-n1", fs0[0].Start.Add(-time.Hour), lastEnd.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	stored, frames := 0, 0
	for _, s := range segs {
		stored += len(s.Fragments)
		if s.Origin != testOrigin {
			t.Errorf("segment %s origin %q", s.Path, s.Origin)
		}
		p, err := blobs.Path(s.Path)
		if err != nil {
			t.Fatal(err)
		}
		r := testutil.FFprobe(t, p)
		if r.DecodeErrors != "" {
			t.Errorf("segment %s: decode errors %q", s.Path, r.DecodeErrors)
		}
		frames += r.Video().Frames()
	}
	if stored != len(fs0) || frames != fx.Frames[0] {
		t.Fatalf("hub stored %d fragments with %d frames; sent %d fragments with %d frames", stored, frames, len(fs0), fx.Frames[0])
	}

	// a fragment the importer refuses (a stream intact, a moof not):
	// 400, what came before it kept, nothing after it stored
	bad := slices.Clone(fs0[:4])
	bad[2].Data = append([]byte("\x00\x00\x00\x10moofgarbage!"), bad[2].Data[16:]...)
	a := e.upload(t, "cam-n2", encodeFrags(t, bad))
	var ue uploadError
	a.decode(t, &ue)
	if a.code != http.StatusBadRequest || ue.Code != "bad_request" || ue.Progress.LastSeq != 2 ||
		!strings.Contains(ue.Error, "fragment 3") {
		t.Fatalf("bad fragment: %d %s", a.code, a.body)
	}
	segs, err = e.idx.Segments(ctx, "cam-n2", fs0[0].Start.Add(-time.Hour), lastEnd.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) != 1 || len(segs[0].Fragments) != 2 {
		t.Fatalf("cam-n2 segments after a bad fragment: %+v", segs)
	}
}
